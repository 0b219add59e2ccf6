"""Inside a 2c trial: replay one trial of the full run exactly and watch the cell states.

    python examples/exp2c_collapse.py                       # 2c-2 (q = p = 100) trial 3, 100,000 sequences
    python examples/exp2c_collapse.py --row 2c-2 --trial 0 --sequences 40000
    python examples/exp2c_collapse.py --row 2c-2-norec --trial 3 --sequences 40000   # the contrast

Task 2c (Section 5.2, Table 3): (b, x|y, q + k distractors, e, x|y); the net must say x or y at the
end. The net of Table 10: 2 memory cells of size 1 with input and output gates, no bias weights,
h in [-1, 1], g in [-2, 2], weights in [-0.2, 0.2], learning rate 0.01, the paper's online rule.

``lstmkit.experiments.trial.trial_start`` gives the trial's initial network and its training stream,
so this trains exactly the sequences ``lstmkit reproduce`` trained, with the same weights. Every
``--every`` sequences it prints the fraction of training sequences whose last step was right (both
outputs within 0.2 of the target, the paper's criterion), the mean and spread of each cell's state
s at the last step over those sequences, and how far the weights have moved since the start: the
largest change of a weight into a cell or an input gate (their error passes through h'(s)), and of any
other. h'(s) = (1 - h(s)^2) / 2 is 0.5 at s = 0, 3e-5 at |s| = 11 and 8e-8 at |s| = 17: a cell whose
state ends there passes almost no error to its input weights.

Two things happen in the full run (REPRODUCTION.md, "2c"), both visible here:

* trial 0 of 2c-2, one of the trials that never learned (11 of 20 at q = 100, 19 of 20 at q = 200, all
  at larger q): from the first sequences on both cells end at |s| = 11 with a spread of about 1, the
  same for x and y.
  In 155,000 sequences no weight into a cell or input gate moves by more than 0.001, while the output
  gates and output units wander by 0.03-0.1; the fraction right stays 0;
* trial 3 of 2c-2: the cells learn to hold x and y apart (spread 20-50, 95 % right at 70,000
  sequences), then both drift to s = -17 for x and y alike by 80,000 and stay there: 0 % right to
  the end of the budget.

The cause (REPRODUCTION.md, "2c"): every cell reads the previous activations of the gates, which sit near
0.5. They act as bias units: the state drifts, and a weight from a gate activation has an accumulator of
about T/4, so one error at the end moves s(T) by lr * e_s * (T/4)^2. The rows 2c-k-norec drop the hidden
layer's recurrent connections and nothing else; replayed the same way, the cells of trial 3 of
2c-2-norec stay near s = 0 (sd about 1), and every training sequence is right from 35,000 sequences on.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lstmkit.experiments import EXPERIMENTS
from lstmkit.experiments.trial import CHUNK, trial_start
from lstmkit.learn.rtrl1997 import RTRL1997


def two_c_row(row: str):
    exp = EXPERIMENTS.get(row)
    if exp is None or exp.method != "lstm1997" or exp.task != "long_lag_c":
        raise ValueError(f"--row: expected a 2c row trained with the paper's rule (2c-1 ... 2c-9, 2c-2-igb), "
                         f"got {row!r}")
    return exp


def replay(row: str, k: int, sequences: int, every: int, seed: int = 0):
    """Every ``every`` sequences yield (sequences trained, fraction right, mean s_T per cell, sd of s_T per
    cell, the largest change since the start of a weight into a cell or an input gate, and of any other).

    Error reaches the cells and input gates only through h'(s) (eqs. 23, 26, 28); the output gates and
    output units get theirs directly (eqs. 19, 21)."""
    exp = two_c_row(row)
    model, train = trial_start(exp, k, seed)
    learner = RTRL1997(model, lr=exp.lr, update=exp.update)
    w0 = model.flat.copy()
    units = model.rnn.cells[0].unit_slices()
    model.flat[:] = 0.0                        # mark the weights into cells and input gates through the
    for name in ("rnn.l0.W", "rnn.l0.R"):      # params, which are views of flat: (units, sources) each
        if name in model.params:               # the norec rows have no R
            model.params[name][units["cells"]] = model.params[name][units["in"]] = 1.0
    behind_h = model.flat == 1.0
    model.flat[:] = w0
    right, states = [], []
    n = 0
    while n < sequences:
        b = train(CHUNK)                                    # the trial draws its data in chunks of CHUNK
        idx = b.meta.get("symbols")
        for i in range(min(CHUNK, sequences - n)):
            L = int(b.lengths[i])
            res = learner.train_sequence(None if idx is not None else b.x[:L, i], b.y[:L, i],
                                         b.target_mask[:L, i],
                                         input_indices=None if idx is None else idx[:L, i])
            right.append(bool(np.all(np.abs(res.outputs[-1] - b.y[L - 1, i]) < 0.2)))
            states.append(learner.s.copy())                 # s(T), (cells,)
            n += 1
            if n % every == 0:
                s = np.array(states)
                dw = np.abs(model.flat - w0)
                yield (n, float(np.mean(right)), s.mean(axis=0), s.std(axis=0), float(dw[behind_h].max()),
                       float(dw[~behind_h].max()))
                right, states = [], []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--row", default="2c-2")
    ap.add_argument("--trial", type=int, default=3)
    ap.add_argument("--sequences", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=5_000)
    args = ap.parse_args(argv)
    if args.sequences % args.every:
        ap.error(f"--sequences ({args.sequences}) must be a multiple of --every ({args.every})")
    try:
        two_c_row(args.row)
    except ValueError as e:
        ap.error(str(e))
    t0 = time.perf_counter()
    print(f"{args.row} trial {args.trial}: sequences | right | mean s(T) per cell | sd s(T) per cell | "
          f"max |w - w0| into cells and input gates | of the other weights")
    for n, frac, mean, sd, dw_layer, dw_out in replay(args.row, args.trial, args.sequences, args.every):
        print(f"{n:9,d} | {frac:5.2f} | {np.array2string(mean, precision=1)} | {np.array2string(sd, precision=1)} | "
              f"{dw_layer:.2g} | {dw_out:.2g}", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
