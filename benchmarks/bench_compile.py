"""First-call cost of the whole kernel family: cold (empty Numba cache) and cached, in fresh processes.

    python benchmarks/bench_compile.py

Each measurement is a fresh interpreter that imports lstmkit and runs forward + backward once for
every cell family in float32 and float64 (the modern cell through both its reference and fast
kernels, truncated backward included) and one rtrl1997 sequence. NUMBA_CACHE_DIR points at an empty
temporary directory for the cold run and at the same, now filled, directory for the cached runs.
The cold-start rows (lstmkit warmup, issue "Speed II"): the first forward + backward of a small modern
LSTM (float32, T=5, B=2, H=8) in a fresh process, and ``lstmkit reproduce 6a --quick --trials 1``, each
on an empty cache, after ``lstmkit warmup`` filled it, and again (warm).
Writes its table to benchmarks/RESULTS.md between the markers of this benchmark.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from _machine import cpu_line  # benchmarks/, on sys.path when run as a script
from _results import write_section

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


SMALL = r"""
import numpy as np
from lstmkit import LSTM
net = LSTM(3, 8, dtype="float32", seed=0)
y, _ = net.forward(np.zeros((5, 2, 3), np.float32))
net.backward(np.ones_like(y))
"""
LSTMKIT = os.path.join(os.path.dirname(sys.executable), "lstmkit")


def run(cache: str, code: str = WORK, argv=None) -> float:
    """Seconds of one fresh process running ``code`` (or the command ``argv``) with this Numba cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    t0 = time.perf_counter()
    subprocess.run(argv or [sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


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


def compile_profile() -> str:
    """Where the small net's first forward + backward spends its time on an empty cache (a sentence)."""
    import json
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", PROFILE], env={**os.environ, "NUMBA_CACHE_DIR": cache},
                             check=True, capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    top = sorted(got["top"], key=lambda r: -r[1])
    parts = ", ".join(f"{n} {sec:.2f} s" for n, sec in top if sec >= 0.05)
    rest = got["total"] - sum(sec for _, sec in top)
    return (f"On an empty cache that first forward + backward spends {got['total']:.2f} s after the imports: "
            f"compiling {parts} (each including what it calls), and {rest:.2f} s importing lstmkit and running.")


def cold_start() -> list[tuple[str, float, float, float, float]]:
    """(what, empty cache, after lstmkit warmup, warm, warm-up seconds) for the small net and 6a quick."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        six_a = lambda k: [LSTMKIT, "reproduce", "6a", "--quick", "--trials", "1", "--workers", "1",
                           "--out", os.path.join(tmp, f"out{k}")]
        for what, code, argv in (("first forward + backward, small modern LSTM", SMALL, None),
                                 ("reproduce 6a --quick --trials 1", None, six_a)):
            empty = os.path.join(tmp, f"empty-{len(rows)}")
            cold = run(empty, code, argv and argv(0))
            filled = os.path.join(tmp, f"filled-{len(rows)}")
            w = run(filled, argv=[LSTMKIT, "warmup"])
            after = run(filled, code, argv and argv(1))
            again = run(filled, code, argv and argv(2))
            rows.append((what, cold, after, again, w))
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        base_env = {**os.environ}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import lstmkit"], env=base_env, check=True)
        imp = time.perf_counter() - t0
        cold = run(cache)
        warm = sorted(run(cache) for _ in range(3))[1]
    starts = cold_start()
    profile = compile_profile()
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
        "**Cold start** (fresh processes, seconds): on an empty cache; after `lstmkit warmup` (what "
        "`scripts/setup-venv` runs) filled it; and once more. Goals of the Speed II issue: the first "
        "forward + backward <= 2 s, and 6a quick <= 3 s more than warm.\n\n"
        "| what | empty cache | after lstmkit warmup | warm | lstmkit warmup itself |\n|---|---|---|---|---|\n"
        + "".join(f"| {w} | {c:.2f} | {a:.2f} | {g:.2f} | {u:.1f} |\n" for w, c, a, g, u in starts)
        + f"\n{profile}\n"
        + f"\nMachine: {cpu_line()}. Load average at the end: {load:.1f}.\n"
    )
    print(table)
    write_section("bench_compile", table)


if __name__ == "__main__":
    main()
