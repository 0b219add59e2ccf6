"""Trials in lanes: trial-steps per second of the 1997 rule, L trials per kernel call against one at a time.

    python benchmarks/bench_lanes.py                # Exp 1, 2c, 4, 6 nets; L = 4, 8, 16; rewrites RESULTS.md
    python benchmarks/bench_lanes.py --quick        # 3 repeats

The trials are the reproduction's own (``trial_start``: row, trial k = 0..L-1, its initial net and its
first CHUNK training sequences, fed as the trial feeds them: input indices where the row has symbols).
"one" trains each trial's sequences with ``RTRL1997``, one trial after another; "lanes" hands the same
sequences to one ``Lanes1997.train`` call with a lane per trial (the same bits: tests/test_lanes1997.py).
Both with the generic kernel (topology read at run time) and the specialised one (compiled for the
row's topology). Cost = thread CPU time / (trial-steps), Python included; median of round-robin repeats.
The issue's goal: lanes >= 4x one trial on the Exp 4 net at L = 8.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _machine import cpu_line  # benchmarks/, on sys.path when run as a script
from _results import write_section

from lstmkit.experiments import EXPERIMENTS
from lstmkit.experiments.trial import CHUNK, trial_start
from lstmkit.learn.lanes1997 import Lanes1997
from lstmkit.learn.rtrl1997 import RTRL1997

ROWS = ("1-5", "2c-1", "4-1", "6a")
LANES = (4, 8, 16)
GOAL = 4.0


def program(exp, train) -> list[tuple]:
    """The trial's first CHUNK sequences as RTRL1997.train_sequence arguments, as _train_online feeds them."""
    b = train(CHUNK)
    sym = b.meta.get("symbols")
    out = []
    for i in range(b.n):
        T = int(b.lengths[i])
        y, tm = np.ascontiguousarray(b.y[:T, i]), np.ascontiguousarray(b.target_mask[:T, i])
        if sym is not None:
            out.append((None, y, tm, np.ascontiguousarray(sym[:T, i])))
        else:
            out.append((np.ascontiguousarray(b.x[:T, i]), y, tm, None))
    return out


class Row:
    def __init__(self, rid: str, L: int):
        self.exp = EXPERIMENTS[rid]
        trials = [trial_start(self.exp, k) for k in range(L)]
        self.models = [m for m, _ in trials]
        self.programs = [program(self.exp, train) for _, train in trials]
        self.steps = sum(len(s[1]) for p in self.programs for s in p)
        self.W = self.models[0].num_weights
        lr, up = self.exp.lr, self.exp.update
        self.one = {sp: [RTRL1997(m, lr=lr, update=up, specialise=sp) for m in self.models] for sp in (False, True)}
        self.lanes = {sp: Lanes1997(lr=lr, update=up, specialise=sp) for sp in (False, True)}

    def time_one(self, sp) -> float:
        c0 = time.thread_time()
        for learner, prog in zip(self.one[sp], self.programs):
            for x, y, tm, idx in prog:
                learner.train_sequence(x, y, tm, input_indices=idx)
        return (time.thread_time() - c0) / self.steps * 1e9

    def time_lanes(self, sp) -> float:
        c0 = time.thread_time()
        self.lanes[sp].train(self.models, self.programs)
        return (time.thread_time() - c0) / self.steps * 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 repeats")
    ap.add_argument("--rows", nargs="*", default=list(ROWS))
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    rows = {(rid, L): Row(rid, L) for rid in args.rows for L in LANES}
    t0 = time.perf_counter()
    for r in rows.values():                      # compile (or load) every kernel before timing
        for sp in (False, True):
            r.time_one(sp)
            r.time_lanes(sp)
    t_compile = time.perf_counter() - t0
    res = {(key, kind, sp): [] for key in rows for kind in ("one", "lanes") for sp in (False, True)}
    for _ in range(repeats):                     # round robin: noise hits every configuration alike
        for key, r in rows.items():
            for sp in (False, True):
                res[key, "one", sp].append(r.time_one(sp))
                res[key, "lanes", sp].append(r.time_lanes(sp))
    med = {k: float(np.median(v)) for k, v in res.items()}
    lines = ["| row | W | L | trial-steps | one, generic | lanes, generic | gain | one, specialised "
             "| lanes, specialised | gain | best lanes vs best one |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (rid, L), r in rows.items():
        og, lg, os_, ls = (med[(rid, L), k, sp] for k, sp in (("one", False), ("lanes", False), ("one", True),
                                                              ("lanes", True)))
        best = min(og, os_) / min(lg, ls)
        mark = f" (goal {GOAL:.0f}x: missed by {GOAL / best:.1f}x)" if rid == "4-1" and L == 8 and best < GOAL else ""
        lines.append(f"| {rid} | {r.W} | {L} | {r.steps:,} | {og:.0f} | {lg:.0f} | {og / lg:.2f} | {os_:.0f} "
                     f"| {ls:.0f} | {os_ / ls:.2f} | **{best:.2f}**{mark} |")
    table = "\n".join(lines)
    text = "\n".join([
        "## Trials in lanes: the 1997 rule, L trials per kernel call (bench_lanes.py)",
        "",
        f"`python benchmarks/bench_lanes.py` on {time.strftime('%Y-%m-%d %H:%M')}, {cpu_line()}; load average at "
        f"the start {load}. ns of thread CPU time per trial-step, Python included, median of {repeats} "
        f"round-robin repeats; each row's trials k = 0..L-1, their first {CHUNK} training sequences. \"one\" = "
        f"RTRL1997 trial after trial, \"lanes\" = one Lanes1997 call (the same bits). First calls (compiling "
        f"or loading every kernel): {t_compile:.1f} s.",
        "",
        table,
        "",
        "Where the time goes (Exp 4 net, L = 8, specialised; kernel variants timed by hand on an earlier machine, 2026-12-04): of "
        "~208 ns per trial-step, the squashing functions (12 scalar `math.exp` and divisions per lane-step, "
        "kept scalar so that the bits equal the single-trial kernel's libm calls) cost ~74 ns, the "
        "accumulator updates ~45 ns, the recurrent sums ~13 ns, the target block ~7 ns. The compiled loops "
        "stay mostly scalar: Numba runs LLVM without SLP vectorisation, and the loop vectoriser's choice "
        "(4 doubles x interleave 4 on AVX2) leaves loops of 8-16 lanes in their scalar remainder. A vector "
        "exp would change the last bits of every sigmoid, hence of every record of the committed full run.",
    ])
    print(table)
    if not args.no_write:
        print(f"wrote {write_section('bench_lanes', text)}")


if __name__ == "__main__":
    main()
