"""``lstmkit warmup``: compile the kernels into Numba's on-disk cache now rather than on first use."""
from __future__ import annotations

import argparse

from . import UsageError, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", action="append", metavar="NAME",
                   help="one warm-up by name (repeatable; default all: see lstmkit.warmup.WARMUPS)")


@command("warmup", "compile every kernel family once so later processes start without compiling", _args)
def warmup(args) -> int:
    """Run :func:`lstmkit.warmup.warm` and print the seconds of each warm-up and where the cache is."""
    from .. import _numba
    from ..warmup import warm

    try:
        seconds = warm(args.only)
    except ValueError as e:                       # an unknown --only name: warm() says which and what exists
        raise UsageError(f"--only: {e}") from None
    for name, s in seconds.items():
        print(f"{name:<20} {s:6.2f} s")
    print(f"{'in all':<20} {sum(seconds.values()):6.2f} s; cache: {_numba.cache_location()}")
    return 0
