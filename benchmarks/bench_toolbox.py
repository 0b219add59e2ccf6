"""What the toolbox options cost: one training step (forward + backward) against the plain cell.

    python benchmarks/bench_toolbox.py [--repeats N] [--no-write]

The plain cell runs the fast Numba kernels (``lstm_fast``); any toolbox option (projection, layer
norm, dropout, zoneout, weight-drop: ``cells/lstm_toolbox.py``) switches the cell to its NumPy step
loop. Each setting is a 1-layer ``lstmkit.LSTM`` in training mode (masks drawn every call), float32,
measured in this one process, the settings alternating call by call (the order reversed on every
repeat) after a warm-up; each figure is the median of ``--repeats`` calls. The reference Numba kernel
(``kernel="reference"``) is shown too: it is what the plain cell costs without the fast kernels.
Results go to benchmarks/RESULTS.md between this benchmark's markers (``--no-write``: printed only).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _machine import cpu_line
from _results import write_section

from lstmkit import LSTM
from lstmkit.cells import lstm_toolbox

CONFIGS = [(1000, 1, 2, 8), (100, 8, 16, 32), (100, 16, 32, 64), (100, 32, 64, 128)]   # (T, B, I, H)
LOOPS = {"numba": 10**12, "numpy": 0}                              # lstm_toolbox.NUMPY_FROM forcing each loop
SETTINGS = {
    "plain (fast kernel)": {},
    "plain, kernel=reference": {"kernel": "reference"},
    "proj_size=H/2": {"proj_size": "half"},
    "layer_norm": {"layer_norm": True},
    "recurrent_dropout=0.25": {"recurrent_dropout": 0.25},
    "zoneout c 0.5, h 0.05": {"zoneout_cell": 0.5, "zoneout_hidden": 0.05},
    "weight_drop=0.5": {"weight_drop": 0.5},
    "all of them": {"proj_size": "half", "layer_norm": True, "input_dropout": 0.25, "recurrent_dropout": 0.25,
                    "zoneout_cell": 0.5, "zoneout_hidden": 0.05, "weight_drop": 0.5},
}


def _step(net, x):
    y, _ = net.forward(x)
    net.backward(np.ones_like(y))


def measure(T, B, I, H, repeats):
    """{(setting, loop): median seconds}; the plain cell has one loop (its kernels), marked "-"."""
    x = np.random.default_rng(0).normal(size=(T, B, I)).astype(np.float32)
    nets, runs = {}, []
    for name, opts in SETTINGS.items():
        opts = {k: (max(1, H // 2) if v == "half" else v) for k, v in opts.items()}
        nets[name] = LSTM(I, H, dtype="float32", seed=0, **opts).train(rng=np.random.default_rng(0))
        runs += [(name, "-")] if name.startswith("plain") else [(name, loop) for loop in LOOPS]
    for name, loop in runs:                                  # compile, caches, workspace
        lstm_toolbox.NUMPY_FROM = LOOPS.get(loop, 1024)
        for _ in range(2):
            _step(nets[name], x)
    times = {r: [] for r in runs}
    for k in range(repeats):
        for name, loop in (runs if k % 2 == 0 else runs[::-1]):
            lstm_toolbox.NUMPY_FROM = LOOPS.get(loop, 1024)
            t0 = time.perf_counter()
            _step(nets[name], x)
            times[name, loop].append(time.perf_counter() - t0)
    return {r: statistics.median(v) for r, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)
    default = lstm_toolbox.NUMPY_FROM
    lines = ["## Toolbox options: one training step against the plain cell (bench_toolbox.py)", "",
             f"{cpu_line()}; float32, 1 layer, training mode, median of {a.repeats} alternating calls of "
             f"forward + backward; ms per step (x the plain cell's fast kernel) with the step loop in Numba "
             f"and in NumPy; the cell uses NumPy from B x H = {default} (lstm_toolbox.NUMPY_FROM).", ""]
    for T, B, I, H in CONFIGS:
        med = measure(T, B, I, H, a.repeats)
        base = med["plain (fast kernel)", "-"]
        lines += [f"T={T}, B={B}, I={I}, H={H} (B x H = {B * H}):", "",
                  "| setting | Numba loop | NumPy loop |", "|---|---:|---:|"]
        for name in SETTINGS:
            cells = [med[name, "-"]] * 2 if (name, "-") in med else [med[name, loop] for loop in LOOPS]
            lines.append(f"| {name} | " + " | ".join(f"{1e3 * t:.2f} ({t / base:.2f}x)" for t in cells) + " |")
        lines.append("")
    lstm_toolbox.NUMPY_FROM = default
    text = "\n".join(lines)
    print(text)
    if not a.no_write:
        print(f"wrote {write_section('bench_toolbox', text)}")


if __name__ == "__main__":
    main()
