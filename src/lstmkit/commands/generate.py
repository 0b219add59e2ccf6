"""``lstmkit generate RUN_DIR``: sample text from a character-level model trained with ``lstmkit train text``."""
from __future__ import annotations

import argparse
import sys

from . import UsageError, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of lstmkit train text")
    p.add_argument("--prime", default=None, help="text the model reads before sampling (default: a newline)")
    p.add_argument("--length", type=int, default=500, help="characters to sample (default 500)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="below 1: more likely characters, above 1: more varied (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed: the same seed gives the same text")
    p.add_argument("--out", metavar="FILE", help="also write the sample to this file")


@command("generate", "sample text from a trained character-level model (lstmkit train text)", _args)
def generate(args) -> int:
    import numpy as np

    from .._atomic import atomic_write_bytes, check_file_target
    from ..runs import Run
    from ..training.text import generate as sample

    if args.length < 1:
        raise UsageError(f"--length: expected a number of characters >= 1, got {args.length}")
    if not (args.temperature > 0 and np.isfinite(args.temperature)):
        raise UsageError(f"--temperature: expected a number > 0, got {args.temperature}")
    if args.seed < 0:
        raise UsageError(f"--seed: expected an integer >= 0, got {args.seed}")
    if args.out:
        check_file_target(args.out, "--out")           # before the work, not after it
    run = Run.open(args.run_dir)
    if run.task != "text":
        raise UsageError(f"RUN_DIR: {run.path} is a {run.task} run; generate needs a text run")
    vocab = run.data_state()["vocab"]
    net = run.model()
    prime = args.prime
    if prime is None:
        prime = "\n" if "\n" in vocab else vocab[0]
    if not prime:
        raise UsageError("--prime: give at least one character (or leave --prime out)")
    text = sample(net, vocab, prime, args.length, args.temperature, np.random.default_rng(args.seed))
    shown = (args.prime or "") + text
    sys.stdout.write(shown + ("" if shown.endswith("\n") else "\n"))
    if args.out:
        atomic_write_bytes(args.out, shown.encode("utf-8"), what="--out")
    return 0
