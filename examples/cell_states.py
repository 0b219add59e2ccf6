"""Inside a trial: replay one trial of the full run exactly and watch where its cells' states end.

    python examples/cell_states.py                          # 2c-2 (q = p = 100) trial 3, 100,000 sequences
    python examples/cell_states.py --row 2c-2 --trial 0 --sequences 40000
    python examples/cell_states.py --row 2c-2-norec --trial 3 --sequences 40000   # the contrast
    python examples/cell_states.py --row 3b-3 --trial 0 --sequences 300000 --every 25000
    python examples/cell_states.py --row 6b --trial 0 --sequences 600000 --every 50000
    python examples/cell_states.py --row 4-3 --trial 2 --sequences 150000 --every 25000

Any row trained with the paper's online rule without sequential construction (every lstm1997 row but
2a and 2b). ``lstmkit.experiments.trial.trial_start`` gives the trial's initial network and its training
stream, so this trains exactly the sequences ``lstmkit reproduce`` trained, with the same weights. Every
``--every`` sequences it prints the fraction of training sequences that were right (the row's criterion,
``task.correct``, on the outputs seen while training), the mean and spread of each cell's state s at the
last step over those sequences, how far the weights have moved since the start (the largest change of a
weight into a cell or an input gate, whose error passes through h'(s), and of any other), and, for rows
with gate biases, each block's input-gate and output-gate bias.

h'(s) = (1 - h(s)^2) / 2 is 0.5 at s = 0, 3e-5 at |s| = 11, 8e-8 at |s| = 17 and 2e-13 at |s| = 30.
A cell whose state ends a sequence there passes almost no error to its input weights, so the weights
that put it there hardly change: the block is lost, mostly for good. What the full run's failing
trials show (REPRODUCTION.md):

* 2c-2 trial 0 (never learned, as 11 of 20 at q = 100 and all at q >= 500): from the first sequences on
  both cells end at |s| = 11 with a spread of about 1, the same for x and y. In 155,000 sequences no
  weight into a cell or input gate moves by more than 0.001, while the output gates and output units
  wander by 0.03-0.1. The cause: every cell reads the previous activations of the gates, which sit near
  0.5 and act as bias units; the state drifts, and such a weight's accumulator is about T/4, so one
  error at the end moves s(T) by lr * e_s * (T/4)^2. 2c-2-norec, the same row without the hidden
  layer's recurrent connections, keeps s near 0 and is right from 35,000 sequences on (trial 3);
* 2c-2 trial 3 (learned, then lost it): the cells hold x and y apart (spread 20-50, 95 % right at
  70,000 sequences), then both drift to s = -17 for x and y alike by 80,000: 0 % right to the end;
* 3b-3 trial 0 (T = 1000): block 1 (input-gate bias -1) ends every sequence at s = -58 (spread 1.6)
  from 75,000 sequences to 300,000, where we stopped; blocks 2 and 3, whose input gates start at 0.047
  and 0.007, give the output nothing it can use, and no training sequence is right;
* 6b trial 0: 75 % right at 200,000 sequences; by 300,000 block 1's cells end at s = +39 and -36, by
  600,000 at +185 and -154 (block 3's at +39 and -30), and 50 % are right;
* 4-3 (T = 1000) fails the other way: no cell saturates. Every cell ends a sequence near s = 0, and the
  weights from the cells to the output shrink from 0.1 to 0.02 or less: the output learns to ignore
  cells that hold noise, and with those weights near 0 no error reaches the cells (eq. 23).
"""
from __future__ import annotations

import argparse
import time
from typing import NamedTuple

import numpy as np

from lstmkit.experiments import EXPERIMENTS
from lstmkit.experiments.trial import CHUNK, trial_start
from lstmkit.learn.rtrl1997 import RTRL1997


def online_row(row: str):
    exp = EXPERIMENTS.get(row)
    if exp is None or exp.method != "lstm1997" or exp.net.grow:
        raise ValueError(f"--row: expected a row trained with the paper's rule without sequential construction "
                         f"(an lstm1997 row other than 2a and 2b; see lstmkit reproduce --list), got {row!r}")
    return exp


class Snapshot(NamedTuple):
    """The last ``every`` training sequences of a replayed trial."""
    sequences: int           # trained so far
    right: float             # fraction of the window's sequences the row's criterion calls right
    mean: np.ndarray         # (cells,) mean of s(T), the state at the last step
    sd: np.ndarray           # (cells,) its standard deviation
    dw_layer: float          # largest |w - w0| of a weight into a cell or an input gate
    dw_out: float            # ... of any other weight
    out_w: float             # largest |w| from a cell to an output unit: the cells' only way to the error
    biases: dict             # {"b_in": (blocks,), "b_out": (blocks,)}, as far as the row has gate biases


def replay(row: str, k: int, sequences: int, every: int, seed: int = 0):
    """Every ``every`` sequences yield a ``Snapshot``.

    Error reaches the cells and input gates only through h'(s) (eqs. 23, 26, 28); the output gates and
    output units get theirs directly (eqs. 19, 21)."""
    exp = online_row(row)
    task = exp.make_task()
    model, train = trial_start(exp, k, seed)
    learner = RTRL1997(model, lr=exp.lr, update=exp.update)
    w0 = model.flat.copy()
    units = model.rnn.cells[0].unit_slices()
    model.flat[:] = 0.0                        # mark the weights into cells and input gates through the
    for name in ("rnn.l0.W", "rnn.l0.R", "rnn.l0.b_c", "rnn.l0.b_in"):   # params, views of flat
        p = model.params.get(name)             # the norec rows have no R, 2c has no biases
        if p is not None and p.ndim == 1:      # b_c (cells,), b_in (blocks,): all of it
            p[:] = 1.0
        elif p is not None:                    # W, R: (units, sources), the cells' and input gates' rows
            p[units["cells"]] = p[units["in"]] = 1.0
    behind_h = model.flat == 1.0
    model.flat[:] = w0
    right, states = [], []
    n = 0
    while n < sequences:
        b = train(CHUNK)                                    # the trial draws its data in chunks of CHUNK
        idx = b.meta.get("symbols")                         # 2c at p > 60: inputs as indices, no dense x
        m = min(CHUNK, sequences - n)
        outputs = np.zeros((b.y.shape[0], CHUNK, b.y.shape[2]))   # (T_max, chunk, K) as seen while training
        for i in range(m):
            L = int(b.lengths[i])
            res = learner.train_sequence(None if idx is not None else b.x[:L, i], b.y[:L, i],
                                         b.target_mask[:L, i],
                                         input_indices=None if idx is None else idx[:L, i])
            outputs[:L, i] = res.outputs
            states.append(learner.s.copy())                 # s(T), (cells,)
        right.extend(task.correct(b, outputs)[:m].tolist())
        n += m
        if n % every == 0:
            s = np.array(states)
            dw = np.abs(model.flat - w0)
            biases = {name: model.params[f"rnn.l0.{name}"].copy() for name in ("b_in", "b_out")
                      if f"rnn.l0.{name}" in model.params}
            yield Snapshot(n, float(np.mean(right)), s.mean(axis=0), s.std(axis=0), float(dw[behind_h].max()),
                           float(dw[~behind_h].max()), float(np.abs(model.params["out.W"]).max()), biases)
            right, states = [], []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--row", default="2c-2")
    ap.add_argument("--trial", type=int, default=3)
    ap.add_argument("--sequences", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=5_000)
    args = ap.parse_args(argv)
    if args.sequences % args.every or args.every % CHUNK:
        ap.error(f"--sequences ({args.sequences}) must be a multiple of --every ({args.every}), "
                 f"and --every a multiple of {CHUNK}")
    try:
        online_row(args.row)
    except ValueError as e:
        ap.error(str(e))
    t0 = time.perf_counter()
    print(f"{args.row} trial {args.trial}: sequences | right | mean s(T) per cell | sd s(T) per cell | "
          f"max |w - w0| into cells and input gates | of the other weights | max |w| cells -> outputs | "
          f"gate biases per block")
    for r in replay(args.row, args.trial, args.sequences, args.every):
        gates = " ".join(f"{b} {np.array2string(v, precision=2)}" for b, v in r.biases.items())
        print(f"{r.sequences:9,d} | {r.right:5.2f} | {np.array2string(r.mean, precision=1)} | "
              f"{np.array2string(r.sd, precision=1)} | {r.dw_layer:.2g} | {r.dw_out:.2g} | {r.out_w:.2g} | "
              f"{gates or '-'}", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
