"""First-call cost of the whole kernel family: cold (empty Numba cache) and cached, in fresh processes.

    python benchmarks/bench_compile.py

Each measurement is a fresh interpreter that imports lstmkit and runs forward + backward once for
every cell family in float32 and float64 (the modern cell through both its reference and fast
kernels, truncated backward included) and one rtrl1997 sequence. NUMBA_CACHE_DIR points at an empty
temporary directory for the cold run and at the same, now filled, directory for the cached runs.
Writes its table to benchmarks/RESULTS.md between the markers of this benchmark.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from _results import write_section  # benchmarks/, on sys.path when run as a script

WORK = r"""
import numpy as np
from lstmkit import LSTM, Network, Readout
from lstmkit.learn.rtrl1997 import RTRL1997
x = np.random.default_rng(0).normal(size=(5, 2, 3))
cases = [("lstm", {"kernel": "reference"}), ("lstm", {"kernel": "fast"}), ("lstm", {"variant": "vanilla"}),
         ("lstm1997", {"block_size": 2, "forget_gate": True, "peepholes": True}), ("rnn", {})]
for dtype in ("float32", "float64"):
    for cell, opts in cases:
        net = LSTM(3, 4, cell=cell, dtype=dtype, seed=0, **opts)
        y, _ = net.forward(x.astype(dtype), lengths=np.array([5, 3]))
        net.backward(np.ones_like(y))
        net.backward(np.ones_like(y), truncated=cell != "rnn")
net = Network(LSTM(2, 4, cell="lstm1997", block_size=2, seed=0), Readout(4, 1, "logistic", seed=1))
RTRL1997(net, lr=0.5).train_sequence(np.zeros((10, 2)), np.zeros((10, 1)), None)
"""


def run(cache: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", WORK], env=env, check=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        base_env = {**os.environ}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import lstmkit"], env=base_env, check=True)
        imp = time.perf_counter() - t0
        cold = run(cache)
        warm = sorted(run(cache) for _ in range(3))[1]
    load = os.getloadavg()[0]
    table = (
        "## Compile time of the kernel family\n\n"
        "`python benchmarks/bench_compile.py`: a fresh process runs forward + backward (exact and truncated) of "
        "every cell family in float32 and float64 (modern cell: reference and fast kernels, and the vanilla "
        "variant) plus one rtrl1997 sequence.\n\n"
        "| what | seconds |\n|---|---|\n"
        f"| `import lstmkit` alone | {imp:.2f} |\n"
        f"| cold: empty Numba cache (compiles everything) | {cold:.1f} |\n"
        f"| cached: the same process again, cache filled (median of 3) | {warm:.2f} |\n\n"
        f"Load average at the end: {load:.1f}.\n"
    )
    print(table)
    write_section("bench_compile", table)


if __name__ == "__main__":
    main()
