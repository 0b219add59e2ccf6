"""First-call cost of the kernels: cold (empty Numba cache) and cached, in fresh processes.

    python benchmarks/bench_compile.py

The kernel family is what ``lstmkit warmup`` compiles (``lstmkit.warmup.WARMUPS``: every cell family in
float32 and float64, forward and exact and truncated backward, the 1997 rule and the baselines), so
its first run over an empty NUMBA_CACHE_DIR is the cold cost and its later runs over the filled
directory the cached cost. The cold-start rows (issue "Speed II"): the first forward + backward of a
small modern LSTM (float32, T=5, B=2, H=8) in a fresh process, and ``lstmkit reproduce 6a --quick
--trials 1``, each on an empty cache, then twice on the cache that ``lstmkit warmup`` filled (what
``scripts/setup-venv`` does). Writes its table to benchmarks/RESULTS.md between the markers of this
benchmark.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from _machine import cpu_line  # benchmarks/, on sys.path when run as a script
from _results import write_section

LSTMKIT = os.path.join(os.path.dirname(sys.executable), "lstmkit")
WARMUP = [LSTMKIT, "warmup"]
SMALL = r"""
import numpy as np
from lstmkit import LSTM
net = LSTM(3, 8, dtype="float32", seed=0)
y, _ = net.forward(np.zeros((5, 2, 3), np.float32))
net.backward(np.ones_like(y))
"""
PROFILE = r"""
import json, time
from numba.core import event as ev
spans, open_ = [], {}
class Listener(ev.Listener):
    def on_start(self, e): open_[id(e.data["dispatcher"]), str(e.data["args"])] = time.perf_counter()
    def on_end(self, e):
        key = id(e.data["dispatcher"]), str(e.data["args"])
        spans.append((e.data["dispatcher"].py_func.__name__, open_.pop(key), time.perf_counter()))
ev.register("numba:compile", Listener())
t0 = time.perf_counter()
""" + SMALL + r"""
total = time.perf_counter() - t0
top = [s for s in spans if not any(o[1] < s[1] and s[2] < o[2] for o in spans)]   # not inside another
print(json.dumps({"total": total, "top": [(n, b - a) for n, a, b in top]}))
"""


def run(cache: str, argv) -> float:
    """Seconds of one fresh process running the command ``argv`` with this Numba cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def compile_profile() -> str:
    """Where the small net's first forward + backward spends its time on an empty cache (a sentence)."""
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", PROFILE], env={**os.environ, "NUMBA_CACHE_DIR": cache},
                             check=True, capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    top = sorted(got["top"], key=lambda r: -r[1])
    parts = ", ".join(f"{n} {sec:.2f} s" for n, sec in top if sec >= 0.05)
    rest = got["total"] - sum(sec for _, sec in top)
    return (f"On an empty cache that first forward + backward spends {got['total']:.2f} s after the imports: "
            f"compiling {parts} (each including what it calls), and {rest:.2f} s importing lstmkit and running.")


def cold_start(tmp: str, filled: str) -> list[tuple[str, float, float, float]]:
    """(what, empty cache, after lstmkit warmup, again) for the small net and 6a quick; ``filled`` is warm."""
    six_a = lambda k: [LSTMKIT, "reproduce", "6a", "--quick", "--trials", "1", "--workers", "1",
                       "--out", os.path.join(tmp, f"out{k}")]
    small = lambda k: [sys.executable, "-c", SMALL]
    rows = []
    for what, argv in (("first forward + backward, small modern LSTM", small),
                       ("reproduce 6a --quick --trials 1", six_a)):
        cold = run(os.path.join(tmp, f"empty-{len(rows)}"), argv(0))
        rows.append((what, cold, run(filled, argv(1)), run(filled, argv(2))))
    return rows


def main() -> None:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import lstmkit"], check=True)
    imp = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        filled = os.path.join(tmp, "filled")
        cold = run(filled, WARMUP)                                  # empty: compiles everything
        warm = sorted(run(filled, WARMUP) for _ in range(3))[1]
        starts = cold_start(tmp, filled)
    profile = compile_profile()
    load = os.getloadavg()[0]
    table = (
        "## Compile time of the kernel family\n\n"
        "`python benchmarks/bench_compile.py`: fresh processes run `lstmkit warmup`, which calls every kernel "
        "family once (`lstmkit.warmup.WARMUPS`: each cell family in float32 and float64, forward, exact and "
        "truncated backward; the 1997 rule; the baselines).\n\n"
        "| what | seconds |\n|---|---|\n"
        f"| `import lstmkit` alone | {imp:.2f} |\n"
        f"| cold: `lstmkit warmup` on an empty Numba cache (compiles everything) | {cold:.1f} |\n"
        f"| cached: `lstmkit warmup` again, cache filled (median of 3) | {warm:.2f} |\n\n"
        "**Cold start** (fresh processes, seconds): on an empty cache; then on the cache `lstmkit warmup` "
        "filled (what `scripts/setup-venv` runs), twice. Goals of the Speed II issue: the first "
        "forward + backward <= 2 s, and 6a quick <= 3 s more than warm.\n\n"
        "| what | empty cache | after lstmkit warmup | again |\n|---|---|---|---|\n"
        + "".join(f"| {w} | {c:.2f} | {a:.2f} | {g:.2f} |\n" for w, c, a, g in starts)
        + f"\n{profile}\n"
        + f"\nMachine: {cpu_line()}. Load average at the end: {load:.1f}.\n"
    )
    print(table)
    write_section("bench_compile", table)


if __name__ == "__main__":
    main()
