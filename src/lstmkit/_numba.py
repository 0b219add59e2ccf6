"""One place that decides how kernels are compiled.

``cache=True`` writes compiled machine code next to the sources (or in NUMBA_CACHE_DIR) so that the
first call of a later process does not compile again. ``fastmath`` is off: gradient checks in float64
need IEEE semantics. ``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python (slow, same results).
"""
from __future__ import annotations

import numba


def njit(*args, **kwargs):
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**kwargs)(args[0])
    return numba.njit(*args, **kwargs)
