"""Experiment 1 with more memory blocks: where the paper's 3-block net sits on the size axis.

    python examples/exp1_blocks.py                         # row 1-5, blocks 3 4 5 6 8, 30 trials each
    python examples/exp1_blocks.py --row 1-4 --blocks 4 6 8 --trials 10

Row 1-5 of Table 1 (embedded Reber grammar, the paper's online rule, learning rate 0.5, blocks of two
cells, only the gates biased, output-gate biases -1, -2, -3, ...) is run here exactly as
``lstmkit reproduce 1-5`` runs it -- same trials, same training/test splits, same stopping rule and
budget (100,000 sequences) -- with only the number of blocks changed. Blocks beyond the fourth repeat the
staggered output-gate biases -1 ... -4.

What it shows (development machine, seed 0): the rule and the cell are not what fails; the size is.

    row 1-5 (alpha 0.5)  3 x 2 (the paper's)  276 weights   6/30 solved, mean 31,467 sequences
                         4 x 2                432          18/30         36,783
                         5 x 2                620          28/30         11,875
                         6 x 2                840          27/30         11,341
                         8 x 2               1376          28/30          4,454
    row 1-1 (alpha 0.1)  4 x 1 (the paper's)  264 weights   0/10
                         6 x 1                504          10/10         27,300
                         8 x 1                816           8/10         14,862

The paper: 30/30 at a mean of 8,440 (1-5) and 39,740 (1-1). The 3-block line is the full run's 1-5, trial
for trial. Our reading: the inner transition after ``P`` depends on the symbol before it (T/V after the
inner ``B``, X/S after ``V``); without a forget gate a cell cannot hold "the last symbol" and let it go, so
that has to come from the gates' activations of the previous step, and each block adds two gates.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from lstmkit.experiments import EXPERIMENTS, report, run_trial

ROWS = ("1-1", "1-2", "1-3", "1-4", "1-5")


def row(base: str, blocks: int):
    """Row ``base`` of Table 1 with ``blocks`` blocks of its size."""
    e = EXPERIMENTS[base]
    biases = tuple(-float(1 + j % 4) for j in range(blocks))          # -1, -2, -3, -4, -1, ...
    net = dataclasses.replace(e.net, blocks=blocks, out_gate_bias=biases)
    # The id stays the row's: trial k's seed derives from (seed, id, k), so the paper's size repeats
    # `lstmkit reproduce <row>` trial for trial.
    return dataclasses.replace(e, net=net, weights=None, setting=f"{blocks} blocks x {net.block_size}, alpha={e.lr}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--row", choices=ROWS, default="1-5")
    ap.add_argument("--blocks", type=int, nargs="+", default=[3, 4, 5, 6, 8])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    paper = EXPERIMENTS[args.row].paper
    print(f"row {args.row}, {args.trials} trials per size; the paper ({EXPERIMENTS[args.row].setting}): "
          f"{paper.success:.0%} solved, mean {paper.sequences:,} sequences")
    print(f"{'blocks':>6} {'weights':>7} {'solved':>7} {'mean seq.':>10} {'median':>8} {'range':>15} {'time':>6}")
    num = lambda v: "-" if v is None else f"{v:,.0f}"
    for blocks in args.blocks:
        t0 = time.perf_counter()
        e = row(args.row, blocks)
        s = report.summarize([run_trial(e, k, args.seed) for k in range(args.trials)])
        n_w = e.net.build(7, 7, np.random.default_rng(0)).num_weights
        rng = f"{num(s['min_sequences'])}-{num(s['max_sequences'])}" if s["solved"] else "-"
        print(f"{blocks:>6} {n_w:>7} {s['solved']:>3}/{args.trials:<3} {num(s['mean_sequences']):>10} "
              f"{num(s['median_sequences']):>8} {rng:>15} {time.perf_counter() - t0:>5.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
