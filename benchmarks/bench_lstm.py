"""lstmkit's LSTM against torch.nn.LSTM: forward+backward and forward-only, float32 (targets) and float64.

    python benchmarks/bench_lstm.py [--quick] [--repeats N] [--pause S] [--threads N] [--configs 0,1]
                                    [--no-write]

Both run in this one process, alternating call by call (the order flips every repeat), after
warm-up; each figure is the median of ``--repeats`` timed calls. torch uses 2 threads (oneDNN's fused
LSTM for float32), lstmkit too. Before every timed call the same library runs untimed for at least
10 ms: torch's OpenMP threads spin for some milliseconds after a parallel region (libgomp's default)
and would otherwise take a core from the lstmkit call that follows, and each library would start
with the other's data in the caches. Calls run back to back, as in a training loop (``--pause S``
sleeps first; after a sleep the first milliseconds of a call run markedly slower on this VM).

lstmkit is measured through its public network, ``lstmkit.LSTM(...).forward / .backward``, when
that exists, otherwise through the cell's fast kernels (``lstmkit.cells.lstm_fast``); the output says
which. Forward-only is also measured for the kernels' inference path (``need_cache=False``, no
activations kept). Cold compile times are measured in fresh processes with an empty Numba cache.

On a busy machine (other jobs on the 2 cores) torch's two OpenMP threads, which meet at a barrier
every step, lose far more than lstmkit's two independent batch halves; the report then carries a
warning, and ``--threads 1`` gives the steadier per-core comparison (printed only).

Results go to benchmarks/RESULTS.md, between the markers of this benchmark (the rest of the file is
kept); ``--configs``, ``--threads`` other than 2 and ``--no-write`` leave the file alone.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from _machine import cpu_model  # benchmarks/, on sys.path when run as a script
from _results import write_section


# (T, B, I, H) and the target for the float32 forward+backward ratio lstmkit / torch.
CONFIGS = [
    ((1000, 1, 2, 8), 0.25),
    ((100, 32, 8, 32), 0.7),
    ((100, 64, 64, 128), 1.0),
    ((100, 32, 256, 512), 1.0),
    ((35, 20, 650, 650), 1.0),
]


# ----------------------------------------------------------------------------- the two sides
class LstmkitSide:
    """lstmkit through lstmkit.LSTM when it exists, else through the cell's fast kernels."""

    def __init__(self, T, B, I, H, dtype, rng):
        import lstmkit
        from lstmkit.cells import lstm_fast
        from lstmkit.cells.lstm import LSTMCell
        from lstmkit.params import ParamSet

        self.fast = lstm_fast
        self.x = rng.normal(size=(T, B, I)).astype(dtype)
        self.dy = rng.normal(size=(T, B, H)).astype(dtype)
        self.net = None
        if hasattr(lstmkit, "LSTM"):
            self.net = lstmkit.LSTM(I, H, dtype=np.dtype(dtype).name)
            self.via = "lstmkit.LSTM (network -> LSTMCell -> lstm_fast)"
            self.cell = self.net.cells[0] if hasattr(self.net, "cells") else LSTMCell(I, H, dtype=dtype)
            self.params = (self.net._cell_params[0].params if hasattr(self.net, "_cell_params")
                           else self.net.params)
        else:
            self.via = "LSTMCell -> lstm_fast (lstmkit.LSTM not available)"
            self.cell = LSTMCell(I, H, dtype=dtype)
        if self.net is None or not isinstance(self.params, dict) or "W" not in self.params:
            ps = ParamSet(self.cell.param_shapes(), dtype=dtype)
            self.cell.init_params(ps.params, rng)
            self.params, self.grads = ps.params, ps.grads
        else:
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def fwd_bwd(self):
        if self.net is not None:
            self.net.forward(self.x)
            self.net.backward(self.dy)
        else:
            y, _, cache = self.cell.forward(self.params, self.x, None)
            self.cell.backward(self.params, cache, self.dy, None, self.grads)

    def fwd(self):
        if self.net is not None:
            self.net.forward(self.x)
        else:
            self.cell.forward(self.params, self.x, None)

    def fwd_infer(self):
        """The kernels' inference path: no activations kept."""
        self.fast.forward(self.cell, self.params, self.x, None, None, need_cache=False)


class TorchSide:
    def __init__(self, T, B, I, H, dtype, rng):
        import torch

        self.torch = torch
        tdt = torch.float32 if dtype == np.float32 else torch.float64
        self.m = torch.nn.LSTM(I, H).to(tdt)
        self.x = torch.from_numpy(rng.normal(size=(T, B, I)).astype(dtype)).requires_grad_()  # dx too
        self.dy = torch.from_numpy(rng.normal(size=(T, B, H)).astype(dtype))

    def fwd_bwd(self):
        y, _ = self.m(self.x)
        y.backward(self.dy)

    def fwd(self):
        with self.torch.no_grad():
            self.m(self.x)


# ----------------------------------------------------------------------------- timing
def timed(fn, pause, warm=0.01):
    """Seconds of one call of fn, after untimed calls of the same fn for at least ``warm`` seconds.

    The untimed calls absorb what the other library left behind: torch's OpenMP threads spin for
    some milliseconds after a parallel region (libgomp's default) and take a core from whatever runs
    next, and each library's data would otherwise start cold in the caches. They keep the CPU busy
    instead of sleeping: after a sleep the first milliseconds of a call run markedly slower on this
    VM (both libraries; it distorts the short configurations).
    """
    if pause > 0:
        time.sleep(pause)
    end = time.perf_counter() + warm
    fn()
    while time.perf_counter() < end:
        fn()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(cfg, dtype, repeats, pause, rng):
    """Median seconds of each variant, alternating the two libraries call by call."""
    T, B, I, H = cfg
    lk, th = LstmkitSide(T, B, I, H, dtype, rng), TorchSide(T, B, I, H, dtype, rng)
    runs = {"torch fb": th.fwd_bwd, "lstmkit fb": lk.fwd_bwd, "torch fwd": th.fwd, "lstmkit fwd": lk.fwd,
            "lstmkit infer": lk.fwd_infer}
    for fn in runs.values():             # warm-up: compilation, caches, thread pools
        fn()
        fn()
    times = {k: [] for k in runs}
    names = list(runs)
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]   # neither library always goes first
        for k in order:
            times[k].append(timed(runs[k], pause))
    return ({k: statistics.median(v) for k, v in times.items()}, {k: min(v) for k, v in times.items()}), lk.via


# ----------------------------------------------------------------------------- compile time
COMPILE_SNIPPET = r"""
import sys, time, warnings
import numpy as np
t0 = time.perf_counter()
from lstmkit.cells import lstm_fast
from lstmkit.cells.lstm import LSTMCell
from lstmkit.params import ParamSet
t_import = time.perf_counter() - t0
out = [t_import]
for dt in (np.float32, np.float64):
    cell = LSTMCell(3, 4, dtype=dt)
    ps = ParamSet(cell.param_shapes(), dtype=dt)
    x = np.ones((5, 4, 3), dt)
    t0 = time.perf_counter()
    y, _, c = lstm_fast.forward(cell, ps.params, x, None, None)
    lstm_fast.backward(cell, ps.params, c, np.ones_like(y), None, ps.grads)
    lstm_fast.forward(cell, ps.params, x, None, None, need_cache=False)
    out.append(time.perf_counter() - t0)
print(" ".join(f"{v:.3f}" for v in out))
"""


def compile_times():
    """(import s, float32 s, float64 s) for a cold cache and then for the filled cache, fresh processes."""
    rows = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        for label in ("cold (empty cache)", "cached (second process)"):
            res = subprocess.run([sys.executable, "-W", "ignore", "-c", COMPILE_SNIPPET], env=env,
                                 capture_output=True, text=True, check=True)
            rows[label] = [float(v) for v in res.stdout.split()]
    return rows


# ----------------------------------------------------------------------------- report
def machine():
    import numba
    import scipy
    import torch

    blas = []
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                where = "numpy" if "numpy" in lib["filepath"] else ("scipy" if "scipy" in lib["filepath"] else "?")
                blas.append(f"{where}: {lib['internal_api']} {lib.get('version')} {lib.get('architecture')} "
                            f"x{lib['num_threads']}")
    except Exception as err:  # noqa: BLE001 - informational only
        blas.append(f"unknown ({err})")
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "numba": numba.__version__, "scipy": scipy.__version__,
        "torch": torch.__version__, "blas": "; ".join(blas),
        "torch threads": torch.get_num_threads(), "numba threads": numba.get_num_threads(),
    }


def fmt_ms(s):
    return f"{s * 1e3:.3f}" if s < 0.01 else f"{s * 1e3:.2f}" if s < 1 else f"{s * 1e3:.0f}"


def table(rows, title, with_target, busy=False):
    head = ("| config (T, B, I, H) | torch ms | lstmkit ms | ratio | ratio of minima |"
            + (" target | met? |" if with_target else ""))
    sep = "|---|---|---|---|---|" + ("---|---|" if with_target else "")
    out = [f"**{title}**", "", head, sep]
    for cfg, (t_torch, m_torch), (t_lk, m_lk), target in rows:
        ratio = t_lk / t_torch
        line = (f"| {', '.join(map(str, cfg))} | {fmt_ms(t_torch)} | {fmt_ms(t_lk)} | {ratio:.2f} | "
                f"{m_lk / m_torch:.2f} |")
        if with_target:
            verdict = "yes" if ratio <= target else f"no (x{ratio / target:.2f} over)"
            line += f" <= {target} | {'not judged: busy machine' if busy else verdict} |"
        out.append(line)
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="float32 only, 5 repeats, no compile-time runs")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per variant (median; default 7, quick 5)")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds of sleep before each timed pair of calls")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for both libraries (torch.set_num_threads, numba.set_num_threads; default 2). "
                         "On a busy machine --threads 1 gives the steadier per-core comparison")
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    ap.add_argument("--configs", default=None,
                    help="comma-separated indices into the config list (0-4) to run a subset; implies --no-write")
    args = ap.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 7)
    if repeats < 5:
        ap.error(f"--repeats: expected >= 5 (medians of fewer are noise on a shared machine), got {repeats}")

    import numba
    import torch

    if not 1 <= args.threads <= (os.cpu_count() or 1):
        ap.error(f"--threads: expected 1..{os.cpu_count()}, got {args.threads}")
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    if args.threads != 2:
        args.no_write = True          # the section in RESULTS.md is the setting: 2 threads
    rng = np.random.default_rng(0)
    load0 = os.getloadavg()[0]
    print("machine:", ", ".join(f"{k} {v}" for k, v in machine().items()), f"load {load0:.1f}", flush=True)

    dtypes = [np.float32] if args.quick else [np.float32, np.float64]
    configs = CONFIGS
    if args.configs is not None:
        try:
            configs = [CONFIGS[int(k)] for k in args.configs.split(",")]
        except (ValueError, IndexError):
            ap.error(f"--configs: expected indices 0-{len(CONFIGS) - 1} separated by commas, got {args.configs!r}")
        args.no_write = True
    results, via = {}, ""
    for dt in dtypes:
        for cfg, target in configs:
            (med, mins), via = measure(cfg, dt, repeats, args.pause, rng)
            results[(dt, cfg)] = {k: (med[k], mins[k]) for k in med}
            print(f"{np.dtype(dt).name} {cfg}: " + ", ".join(f"{k} {fmt_ms(v)} ms" for k, v in med.items())
                  + f"  ratio fb {med['lstmkit fb'] / med['torch fb']:.2f} "
                  f"(of minima {mins['lstmkit fb'] / mins['torch fb']:.2f}; target {target})", flush=True)
    load1 = os.getloadavg()[0]
    info = machine()

    busy = max(load0, load1) > 1.5
    sections = [f"lstmkit measured through: {via}", ""]
    for dt in dtypes:
        name = np.dtype(dt).name
        tgt = dt == np.float32
        fb = [(cfg, results[(dt, cfg)]["torch fb"], results[(dt, cfg)]["lstmkit fb"], target)
              for cfg, target in configs]
        fo = [(cfg, results[(dt, cfg)]["torch fwd"], results[(dt, cfg)]["lstmkit fwd"], None) for cfg, _ in configs]
        fi = [(cfg, results[(dt, cfg)]["torch fwd"], results[(dt, cfg)]["lstmkit infer"], None)
              for cfg, _ in configs]
        sections += [table(fb, f"{name}, forward + backward" + (" (targets)" if tgt else " (information)"), tgt,
                           busy), "",
                     table(fo, f"{name}, forward only (torch under no_grad; lstmkit keeps the cache)", False), "",
                     table(fi, f"{name}, forward only, kernels' inference path (need_cache=False)", False), ""]
    if not args.quick and args.threads > 1:
        # Per-core comparison: both libraries on one thread. No barrier for other jobs to stall, so
        # it is the steadier figure on a shared machine (it is not the setting).
        torch.set_num_threads(1)
        numba.set_num_threads(1)
        one = []
        for cfg, target in configs:
            (med, mins), _ = measure(cfg, np.float32, repeats, args.pause, rng)
            one.append((cfg, (med["torch fb"], mins["torch fb"]), (med["lstmkit fb"], mins["lstmkit fb"]), None))
            print(f"float32 {cfg} one thread: torch fb {fmt_ms(med['torch fb'])} ms, lstmkit fb "
                  f"{fmt_ms(med['lstmkit fb'])} ms", flush=True)
        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
        sections += [table(one, "float32, forward + backward, both libraries on ONE thread (per-core comparison, "
                                "information)", False), ""]
    comp = None
    if not args.quick:
        comp = compile_times()
        sections += ["**Compile time of the fast kernels** (fresh process; forward + backward + inference on a "
                     "tiny input, seconds)", "", "| cache | import | float32 | float64 |", "|---|---|---|---|"]
        for label, (t_imp, t32, t64) in comp.items():
            sections.append(f"| {label} | {t_imp:.2f} | {t32:.2f} | {t64:.2f} |")
        sections.append("")
    text_tables = "\n".join(sections)
    print("\n" + text_tables)

    header = [
        "## bench_lstm: lstmkit vs torch.nn.LSTM",
        "",
        f"`python benchmarks/bench_lstm.py{' --quick' if args.quick else ''}` on {time.strftime('%Y-%m-%d %H:%M')}: "
        f"medians of {repeats} timed calls per variant, the two libraries alternating in one process, "
        f"each timed call after >= 10 ms of untimed calls of the same library; "
        f"torch.set_num_threads({args.threads}), lstmkit on {args.threads} threads. Ratio = lstmkit time / "
        f"torch time (of the medians; the ratio of the fastest calls is shown beside it, it is the steadier "
        f"one when other jobs interfere).",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, NumPy {info['numpy']}, "
        f"Numba {info['numba']}, SciPy {info['scipy']}, torch {info['torch']}; BLAS {info['blas']}; "
        f"load average {load0:.1f} at start, {load1:.1f} at end (other jobs share the machine: "
        f"treat differences under ~30% as noise).",
        "",
    ]
    if max(load0, load1) > 1.5:
        header += [f"**Warning: the machine was busy (load average up to {max(load0, load1):.1f} on "
                   f"{info['cores']} cores).** torch's OpenMP threads wait for each other at every step "
                   "and lose far more than lstmkit's two independent batch halves when other processes "
                   "take the cores, so these ratios flatter lstmkit; rerun on an idle machine before "
                   "trusting a target as met.", ""]
    if not args.no_write:
        print(f"wrote {write_section('bench_lstm', chr(10).join(header) + chr(10) + text_tables)}")
    return results, comp


if __name__ == "__main__":
    main()
