"""Gers, Schmidhuber & Cummins (2000), "Learning to Forget: Continual Prediction with LSTM", as a study.

Neural Computation 12(10):2451-2471. The 1997 LSTM resets its cells before every string; on a stream
that is never segmented its cell states grow without bound and it breaks down. The forget gate lets a
block reset itself. ``lstmkit reproduce gers2000`` runs the rows below through the 1997 runner.

Rows (Table 2, the continual embedded Reber grammar, CERG; ``tasks.continual.ContinualReber``):

=========================  ===================================================================
gers2000-reset             standard LSTM, state and accumulators reset at every string start
gers2000-standard          standard LSTM on the stream, never reset
gers2000-decay             standard LSTM with a fixed state decay s(t) = 0.9 s(t-1) + y_in g
gers2000-forget            LSTM with forget gates
gers2000-forget-alpha      forget gates and "sequential alpha decay" (below)
gers2000-cnto-standard     continual noisy temporal order (CNTO), standard LSTM
gers2000-cnto-forget       CNTO with forget gates
=========================  ===================================================================

The CERG net (Sec. 4): 7 inputs, 4 blocks of 2 cells, 7 logistic outputs. Cells and gates read the
inputs and the previous cell outputs only (``recurrent_sources="cells"``); the outputs read the cells
and, by shortcuts, the inputs; gates and outputs are biased, cells are not: 424 weights with forget
gates (8·15 + 12·16 + 7·16), 360 without. Input and output gate biases -0.5, -1.0, -1.5, -2.0 per
block, forget gate biases +0.5 ... +2.0, everything else uniform in [-0.2, 0.2]; g in [-2, 2], h in
[-1, 1]; the 1997 rule (truncated RTRL, ``learn.rtrl1997``), weights changed after every step, alpha = 0.5.

Protocol, per trial (each item we could not check against the paper's text is marked):

* A *training stream* starts from a zero state and runs until the net's first error, or 10^6 symbols
  (from notes on the paper, UNCONFIRMED). A symbol is right when every output error |target - output|
  is below 0.49 (the lead's reading; one set of notes says squared error < 0.49, i.e. |e| < 0.7, which
  we do not use). The step at which the error happens is trained on (its weight change is made), then
  the stream ends. At most 30,000 training streams (``max_sequences``).
* After every training stream the weights are frozen and tested on 10 fresh test streams of 100,000
  symbols, each ending at its first error: the net is *perfect* when all 10 run to the end (10^6
  symbols without an error) and training stops there; "training streams needed" (``sequences``) is
  the number of training streams trained until that test passed. As the decision needs all 10, the
  test stops at its first failing stream (the same decision, much cheaper). ``test_every`` > 1 (ours)
  tests less often.
* A net that is never perfect is judged by a final test of 10 fresh test streams at the end of its
  budget: *good* if their mean error-free length exceeds 1000 symbols, else *rest* (Table 2's columns
  give the percentages and the mean error-free lengths).
* Sequential alpha decay: alpha = 0.5 at the start of each training stream, times 0.99 after every
  step of it (UNCONFIRMED: "decayed by 0.99" per step is our reading; per stream it would reach 1e-60
  long before the paper's 14,087 streams). Below ``LR_FLOOR`` alpha is treated as 0: the rest of the
  stream is run with frozen weights (the changes left out sum to < 100 LR_FLOOR |dE/dw|).
* External reset: the state and the accumulators are zeroed at every string start (the segmentation
  that the other rows are not given).

CNTO (Sec. 5; target protocol UNCONFIRMED, ours): 100 noisy temporal order sequences of 1997's Exp. 6b
per stream, a target only at each sequence's trigger B, a sequence right when all 8 output errors are
below 0.3; a training stream ends at its first misclassified sequence; perfect = 10 test streams of
100 sequences without a misclassification. The net is 6b's (3 blocks of 2 cells, fully recurrent as in
1997, all non-input units biased, input gate biases -2, -4, -6, init 0.1, alpha 0.1); the forget row
adds forget gates with bias +1.0 (Sec. 5: "with forget gate bias 1.0 about 3x slower, but solved").
The paper's "learning rate decay x0.9" for CNTO is not implemented (its schedule is not known to us).

Exactness of a stream's stop: steps are trained in chunks (``reset=False`` across calls); when the
first error falls inside a chunk, the weights, the state and the accumulators of the chunk's start
are restored and the chunk is trained again up to and including that step, which gives the same bits
as training step by step and stopping there (the tests hold a record equal to a step-by-step run).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks.continual import ContinualReber, ContinualTemporalOrder
from .configs import Quick
from .study import Study, StudyRow, register

FIRST_CHUNK = 8         # steps of a stream's first chunk; chunks double up to the row's chunk
LR_FLOOR = 1e-12        # sequential alpha decay: below this alpha the stream runs with frozen weights
CURVE_POINTS = 300      # training-stream lengths kept per trial (thinned by halving)
CATEGORIES = ("perfect", "good", "rest")
_TASKS = {"cerg": ContinualReber(), "cnto": ContinualTemporalOrder(units=100)}
# Roles in a trial's seed tree: SeedSequence(seed, spawn_key=(role, ...)).
_INIT, _TRAIN, _CHECK, _FINAL = range(4)


# ------------------------------------------------------------------------------------------- the paper
@dataclass(frozen=True)
class Table2:
    """What Gers et al. (2000) report for a row: percentages of 100 nets and mean lengths (None: not given)."""

    source: str
    perfect: float | None = None           # % perfect solutions
    streams: float | None = None           # mean training streams needed by the perfect ones
    good: float | None = None              # % good (mean error-free test length > 1000)
    good_length: float | None = None       # their mean error-free length
    rest: float | None = None              # % rest
    rest_length: float | None = None
    trials: int | None = 100
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "")}


# ------------------------------------------------------------------------------------------- a row
@dataclass(frozen=True)
class Gers2000Row(StudyRow):
    """One row: the net, the learning rule's settings and the stream protocol (module docstring)."""

    id: str
    setting: str
    paper: Table2
    task: str = "cerg"                     # "cerg" or "cnto" (tasks.continual)
    experiment: str = "gers2000"
    method: str = "lstm1997"
    # ---- the net
    blocks: int = 4
    block_size: int = 2
    forget_gate: bool = False
    state_decay: float = 1.0               # Table 2's "state decay (0.9)"
    recurrent_sources: str = "cells"       # CERG: cells and gates read only the cell outputs
    bias_cell: bool = False                # CERG: "all gates and output units are biased"
    input_shortcut: bool = True            # CERG: the outputs read the inputs too
    in_gate_bias: tuple[float, ...] = (-0.5, -1.0, -1.5, -2.0)
    out_gate_bias: tuple[float, ...] | None = (-0.5, -1.0, -1.5, -2.0)   # None: random in the init range
    forget_gate_bias: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    init_range: float = 0.2
    weights: int | None = None             # the paper's count (424 for the forget-gate CERG net)
    # ---- learning
    lr: float = 0.5                        # alpha at the start of every training stream
    lr_decay: float = 1.0                  # alpha times this after every step of a stream (0.99: alpha decay)
    external_reset: bool = False           # zero state and accumulators at every string start
    # ---- the protocol
    tolerance: float = 0.49                # a target step is right when every |error| < tolerance
    max_sequences: int = 30_000            # training streams
    max_stream: int = 1_000_000            # target steps of a training stream
    # ours, for cost: a cap on all training steps of a trial (None: none). Without it one "good" net runs its
    # 30,000 streams of thousands of symbols each: hours per trial at about 1 us per step.
    max_symbols: int | None = 3_000_000
    test_streams: int = 10
    test_length: int = 100_000             # target steps of a test stream
    test_every: int = 1                    # test after every n-th training stream (the paper: every one)
    good_length: float | None = 1000.0     # "good": mean error-free test length above this (None: no class)
    chunk: int = 256                       # steps trained per call (whole units); the results do not depend on it
    specialise: bool | None = None         # rtrl1997's kernel compiled for the topology: speed only, same bits
    trials: int = 100
    quick: Quick = field(default_factory=lambda: Quick(include=True, trials=2, max_sequences=2000))
    notes: str = ""

    record_fields = (("perfect", (bool,)), ("category", (str,)), ("test_lengths", (list,)),
                     ("test_mean_length", (int, float)), ("train_steps", (int,)))
    volatile = ("trials", "paper", "quick", "notes", "setting", "chunk", "specialise")

    def __post_init__(self):
        if self.task not in _TASKS:
            raise ValueError(f"{self.id}: task must be one of {sorted(_TASKS)}, got {self.task!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"{self.id}: lr_decay must be in (0, 1], got {self.lr_decay!r}")

    @property
    def stream_task(self):
        return _TASKS[self.task]

    def build_network(self, rng: np.random.Generator):
        """The row's freshly initialised net (``Network`` over a lstm1997 layer and logistic outputs)."""
        from ..network import LSTM, Network, Readout

        t, C = self.stream_task, self.blocks
        opts = dict(block_size=self.block_size, forget_gate=self.forget_gate, state_decay=self.state_decay,
                    recurrent_sources=self.recurrent_sources, bias_cell=self.bias_cell, init_range=self.init_range,
                    in_gate_bias=list(self.in_gate_bias[:C]))
        if self.out_gate_bias is not None:
            opts["out_gate_bias"] = list(self.out_gate_bias[:C])
        if self.forget_gate:
            opts["forget_gate_bias"] = list(self.forget_gate_bias[:C])
        rnn = LSTM(t.input_size, C * self.block_size, cell="lstm1997", seed=rng, **opts)
        F = rnn.output_size + (t.input_size if self.input_shortcut else 0)
        readout = Readout(F, t.output_size, "logistic", seed=rng, init_range=self.init_range)
        return Network(rnn, readout, input_shortcut=self.input_shortcut)

    def run_trial(self, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
        return run_trial(self, k, base_seed, keep_model)


# ------------------------------------------------------------------------------------------- streams
def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


_STATE = ("r", "s", "A_c", "A_in", "A_f", "A_pin", "A_pf")


def _snapshot(lrn) -> tuple:
    return (lrn.model.flat.copy(), *(getattr(lrn, a).copy() for a in _STATE))


def _restore(lrn, snap) -> None:
    lrn.model.flat[...] = snap[0]
    for a, v in zip(_STATE, snap[1:]):
        getattr(lrn, a)[...] = v


def _feed(lrn, row: Gers2000Row, sym, y, tm, starts, t0: int, train: bool) -> np.ndarray:
    """Run steps [0, n) of a piece that starts at step t0 of its stream; (n_targets, K) outputs.

    Weights change after every step when ``train`` (alpha of step t0 + i: lr * lr_decay^(t0 + i)); with
    ``external_reset`` state and accumulators are zeroed at every unit start, else carried on.
    """
    n = sym.shape[0]
    cuts = [0, n]
    if row.external_reset:
        cuts = sorted(set(np.nonzero(starts)[0].tolist()) | {0, n})
    outs = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        reset = bool(row.external_reset and starts[a])
        if not train:
            outs.append(lrn.evaluate(None, y[a:b], tm[a:b], input_indices=sym[a:b], reset=reset).outputs)
        elif row.lr_decay == 1.0:
            outs.append(lrn.train_sequence(None, y[a:b], tm[a:b], input_indices=sym[a:b], reset=reset).outputs)
        else:                                   # alpha changes every step: one step per call while it matters
            t = a
            while t < b:
                lr = row.lr * row.lr_decay ** (t0 + t)
                if lr < LR_FLOOR:              # the rest of the stream with frozen weights
                    outs.append(lrn.evaluate(None, y[t:b], tm[t:b], input_indices=sym[t:b], reset=reset).outputs)
                    break
                lrn.lr = lr
                outs.append(lrn.train_sequence(None, y[t:t + 1], tm[t:t + 1], input_indices=sym[t:t + 1],
                                               reset=reset).outputs)
                reset = False
                t += 1
    return np.concatenate(outs) if outs else np.zeros((0, y.shape[1]))


def run_stream(lrn, row: Gers2000Row, stream, max_targets: int, train: bool, on_piece=None) -> tuple[int, int]:
    """Feed one stream from a zero state until its first error or ``max_targets`` target steps.

    Returns ``(length, steps)``: the error-free length (target steps right before the first error;
    ``max_targets`` if none) and the steps run (the erring one included).
    With ``train`` the weights change online and the stream stops *exactly* at the error: a chunk with an
    error is rewound to its start (weights, state, accumulators) and trained again up to that step.
    ``on_piece(piece, n_steps)`` sees the steps actually run (for figures).
    """
    lrn.reset()
    done = steps = 0
    size = FIRST_CHUNK                          # most streams end within a few steps: start small, double
    while done < max_targets and not stream.finished:
        p = stream.take(size)
        size = min(2 * size, row.chunk)
        sym, y, tm, starts = p.symbols, p.y, p.target_mask, p.unit_start
        tgt = np.nonzero(tm)[0]
        if done + tgt.size > max_targets:      # the stream's cap falls inside this piece
            n = int(tgt[max_targets - done - 1]) + 1
            sym, y, tm, starts, tgt = sym[:n], y[:n], tm[:n], starts[:n], tgt[:max_targets - done]
        snap = _snapshot(lrn) if train else None
        out = _feed(lrn, row, sym, y, tm, starts, steps, train)
        wrong = np.nonzero(np.any(np.abs(out - y[tgt]) >= row.tolerance, axis=1))[0]
        if wrong.size:
            j = int(wrong[0])
            n = int(tgt[j]) + 1                # the erring step is run (and trained on), then the stream ends
            if train and n < sym.shape[0]:
                _restore(lrn, snap)
                _feed(lrn, row, sym[:n], y[:n], tm[:n], starts[:n], steps, True)
            if on_piece is not None:
                on_piece(p, n)
            return done + j, steps + n
        done += tgt.size
        if on_piece is not None:
            on_piece(p, sym.shape[0])
        steps += sym.shape[0]
    return done, steps


# ------------------------------------------------------------------------------------------- one trial
def _category(row: Gers2000Row, perfect: bool, mean_length: float) -> str:
    if perfect:
        return "perfect"
    if row.good_length is not None and mean_length > row.good_length:
        return "good"
    return "rest"


class _Thin:
    """Every training stream's (index, error-free length), thinned by halving to at most CURVE_POINTS."""

    def __init__(self):
        self.points, self.step, self.count = [], 1, 0

    def add(self, n: int, length: int) -> None:
        self.count += 1
        if self.count % self.step == 0:
            self.points.append([n, length])
            if len(self.points) >= CURVE_POINTS:
                self.points, self.step = self.points[1::2], self.step * 2


def run_trial(row: Gers2000Row, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
    """Trial k of a row: a pure function of (row, k, base_seed); the record the study summarises."""
    import numba
    from threadpoolctl import threadpool_limits

    from ..learn.rtrl1997 import RTRL1997

    t_start = time.perf_counter()
    seed = row.seed(k, base_seed)
    task = row.stream_task
    model = row.build_network(_rng(seed, _INIT))
    lrn = RTRL1997(model, lr=row.lr, specialise=row.specialise)
    times = dict.fromkeys(("train", "checks", "final_test"), 0.0)
    curve = _Thin()
    perfect, n, train_steps, lengths = False, 0, 0, []
    numba_threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            while n < row.max_sequences and (row.max_symbols is None or train_steps < row.max_symbols):
                t = time.perf_counter()
                lrn.lr = row.lr
                stream = task.stream(_rng(seed, _TRAIN, n))
                length, steps = run_stream(lrn, row, stream, row.max_stream, train=True)
                train_steps += steps
                n += 1
                curve.add(n, length)
                times["train"] += time.perf_counter() - t
                if n % row.test_every == 0 or n == row.max_sequences:
                    t = time.perf_counter()
                    ok = True
                    for i in range(row.test_streams):  # all must pass: stop at the first that fails
                        if run_stream(lrn, row, task.stream(_rng(seed, _CHECK, n, i)), row.test_length,
                                      train=False)[0] < row.test_length:
                            ok = False
                            break
                    times["checks"] += time.perf_counter() - t
                    if ok:
                        perfect, lengths = True, [row.test_length] * row.test_streams
                        break
            t = time.perf_counter()
            if not perfect:
                lengths = [run_stream(lrn, row, task.stream(_rng(seed, _FINAL, i)), row.test_length,
                                      train=False)[0] for i in range(row.test_streams)]
            times["final_test"] = time.perf_counter() - t
    finally:
        numba.set_num_threads(numba_threads)
    mean = float(np.mean(lengths))
    record = {"id": row.id, "trial": int(k), "seed": seed, "solved": perfect, "sequences": n,
              "perfect": perfect, "category": _category(row, perfect, mean), "test_lengths": [int(v) for v in lengths],
              "test_mean_length": mean, "train_steps": int(train_steps), "wall_s": 0.0,
              "details": {"base_seed": int(base_seed), "stopped_by": "perfect" if perfect else "budget",
                          "budget": {"max_sequences": row.max_sequences, "max_symbols": row.max_symbols}},
              # with wall_s the only fields that vary from run to run (as in the 1997 trials' records)
              "time_s": {a: round(v, 3) for a, v in times.items()}, "curve": curve.points}
    if keep_model:
        record["model"] = lrn.model
    record["wall_s"] = round(time.perf_counter() - t_start, 3)
    return record


# ------------------------------------------------------------------------------------------- summary, table
def summarize(row: Gers2000Row, trials: list[dict]) -> dict:
    """Table 2's three columns: % perfect (mean streams needed), % good and % rest <mean error-free length>."""
    N = len(trials)
    out: dict[str, Any] = {"trials": N, "solved": sum(bool(t["perfect"]) for t in trials)}
    for cat in CATEGORIES:
        if cat == "good" and row.good_length is None:      # CNTO: no "good" class
            out["good_pct"] = out["good_length"] = None
            continue
        sel = [t for t in trials if t["category"] == cat]
        out[f"{cat}_pct"] = 100.0 * len(sel) / N if N else None
        out[f"{cat}_length"] = float(np.mean([t["test_mean_length"] for t in sel])) if sel else None
    perf = [t["sequences"] for t in trials if t["perfect"]]
    out["perfect_streams"] = float(np.mean(perf)) if perf else None
    out["mean_wall_s"] = float(np.mean([t["wall_s"] for t in trials])) if N else None
    return out


def _fmt(pct, value, brackets: bool) -> str:
    if pct is None:
        return "–"
    v = "–" if value is None else f"{value:,.0f}"
    return f"{pct:.0f} ⟨{v}⟩" if brackets else f"{pct:.0f} ({v})"


def table(entries: list[dict]) -> str:
    """Ours beside the paper's Table 2 (CERG) and the CNTO rows, as markdown."""
    lines = ["| row | setting | perfect % (streams needed): paper / ours | good % ⟨length⟩: paper / ours | "
             "rest % ⟨length⟩: paper / ours | trials: paper / ours |", "|---|---|---|---|---|---|"]
    for e in entries:
        p, s = e["paper"], e["summary"]
        cols = []
        for cat, key, br in (("perfect", "streams", False), ("good", "good_length", True),
                             ("rest", "rest_length", True)):
            paper = _fmt(p.get(cat), p.get(key), br) if cat in p else "–"
            ours = _fmt(s.get(f"{cat}_pct"), s.get("perfect_streams" if cat == "perfect" else f"{cat}_length"), br)
            cols.append(f"{paper} / {ours}")
        lines.append(f"| {e['id']} | {e['setting']} | {' | '.join(cols)} | {p.get('trials', '–')} / {s['trials']} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- the figure
def cell_states(model, row: Gers2000Row, steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Frozen ``model`` on one test stream of ``steps`` symbols from a zero state, never reset:
    ``{"s": (T, H) cell states, "start": (T,) string starts, "wrong": (T,) steps with an error}``."""
    task = row.stream_task
    p = task.stream(np.random.default_rng(seed)).take(steps)
    x = np.zeros((p.n, 1, task.input_size))
    x[np.arange(p.n), 0, p.symbols] = 1.0
    out, _ = model.forward(x)
    s = model.internals()["l0.s"][:, 0]
    wrong = np.any(np.abs(out[:, 0] - p.y) >= row.tolerance, axis=1) & p.target_mask
    return {"s": s, "start": p.unit_start, "wrong": wrong}


def cell_state_figure(path, nets: list[tuple[str, Any, Gers2000Row]], steps: int = 2000, zoom: int = 120,
                      seed: int = 0) -> Path:
    """One row of panels per (label, model, row): every cell's state over a long CERG stream (left) and
    over its first ``zoom`` steps (right), string starts marked."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    fig, axes = plt.subplots(len(nets), 2, figsize=(12, 2.9 * len(nets)), squeeze=False,
                             gridspec_kw={"width_ratios": (2.2, 1)})
    for (ax, az), (label, model, row) in zip(axes, nets):
        cs = cell_states(model, row, steps, seed)
        T = cs["s"].shape[0]
        first = np.nonzero(cs["wrong"])[0]
        note = f"first error at step {first[0]}" if first.size else f"no error in {T} steps"
        for a, n in ((ax, T), (az, min(zoom, T))):
            for t in np.nonzero(cs["start"][:n])[0]:
                a.axvline(t, color="0.85", lw=0.6, zorder=0)
            a.plot(np.arange(n), cs["s"][:n], lw=0.9)
            a.set_ylabel("s(t)")
        ax.set_title(f"{label}: cell states ({note})", fontsize=9)
        az.set_title(f"first {min(zoom, T)} steps; grey lines = string starts (B)", fontsize=9)
    axes[-1, 0].set_xlabel("step of one continual embedded Reber test stream (never reset)")
    axes[-1, 1].set_xlabel("step")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, path)
    plt.close(fig)
    return path


PLOT_REPLAY_S = 120.0    # plots() trains a trial again to get its net only if that took at most this long


def plots(out, rows, results: dict[str, list[dict]]) -> list[Path]:
    """DIR/plots/gers2000-cell-states.png: the best net of the standard and the forget-gate rows on a
    long stream. Their nets are the saved ones (``--save-models``) or trained again (a trial is a pure
    function of its row, index and seed), if that took at most PLOT_REPLAY_S seconds."""
    from ..io import load
    from .runner import model_path

    nets = []
    for row in rows:
        if row.id not in ("gers2000-standard", "gers2000-forget") or not results.get(row.id):
            continue
        best = max(results[row.id], key=lambda r: (r["test_mean_length"], -r["trial"]))
        path = model_path(Path(out), row.id, best["trial"])
        if path.exists():
            model = load(path)
        elif best["wall_s"] <= PLOT_REPLAY_S:      # the budget it ran with (--quick caps it)
            again = dataclasses.replace(row, **best["details"]["budget"]).run_trial(
                best["trial"], best["details"]["base_seed"], keep_model=True)
            if (again["sequences"], again["test_lengths"]) != (best["sequences"], best["test_lengths"]):
                continue                          # not the trial on record (another version of the code)
            model = again["model"]
        else:
            continue
        nets.append((f"{row.setting} (trial {best['trial']}, mean test length {best['test_mean_length']:,.0f})",
                     model, row))
    if not nets:
        return []
    return [cell_state_figure(Path(out) / "plots" / "gers2000-cell-states.png", nets)]


# ------------------------------------------------------------------------------------------- the rows
_CNTO_NET = dict(task="cnto", blocks=3, block_size=2, recurrent_sources="all", bias_cell=True, input_shortcut=False,
                 in_gate_bias=(-2.0, -4.0, -6.0), out_gate_bias=None, forget_gate_bias=(1.0, 1.0, 1.0),
                 init_range=0.1, lr=0.1, tolerance=0.3, max_sequences=30_000, max_stream=100, test_length=100,
                 good_length=None, trials=10, chunk=110)
_CNTO_NOTES = ("ours: the target protocol (a target at each trigger B, ABS(0.3)), the net (1997's 6b), "
               "forget bias +1.0, the budget of 30,000 training streams (as CERG's) and 10 trials; no learning-rate "
               "decay")
ROWS = (
    Gers2000Row("gers2000-reset", "standard LSTM with external reset", external_reset=True, weights=360,
                paper=Table2("Table 2", perfect=74, streams=7441, good=0, rest=26, rest_length=31),
                notes="state and accumulators zeroed at every string start"),
    Gers2000Row("gers2000-standard", "standard LSTM", weights=360,
                paper=Table2("Table 2", perfect=0, good=1, good_length=1166, rest=99, rest_length=37)),
    Gers2000Row("gers2000-decay", "LSTM with state decay (0.9)", state_decay=0.9, weights=360,
                paper=Table2("Table 2", perfect=0, good=0, rest=100, rest_length=56),
                notes="s(t) = 0.9 s(t-1) + y_in g; the accumulators decay by 0.9 too"),
    Gers2000Row("gers2000-forget", "LSTM with forget gates", forget_gate=True, weights=424,
                paper=Table2("Table 2", perfect=18, streams=18889, good=29, good_length=39171, rest=53,
                             rest_length=145)),
    Gers2000Row("gers2000-forget-alpha", "LSTM with forget gates and sequential alpha decay", forget_gate=True,
                lr_decay=0.99, weights=424,
                paper=Table2("Table 2", perfect=62, streams=14087, good=6, good_length=68464, rest=32,
                             rest_length=30),
                notes="alpha = 0.5 * 0.99^t at step t of each training stream (our reading)"),
    Gers2000Row("gers2000-cnto-standard", "CNTO, standard LSTM", weights=308, **_CNTO_NET,
                quick=Quick(include=True, trials=1, max_sequences=2000),
                paper=Table2("Sec. 5 / Table 3 (numbers UNCONFIRMED)", trials=None,
                             note="standard LSTM fails on CNTO"), notes=_CNTO_NOTES),
    Gers2000Row("gers2000-cnto-forget", "CNTO, LSTM with forget gates", forget_gate=True, **_CNTO_NET,
                quick=Quick(include=True, trials=1, max_sequences=2000),
                paper=Table2("Sec. 5 / Table 3 (numbers UNCONFIRMED)", trials=None,
                             note="LSTM with forget gates solves CNTO"), notes=_CNTO_NOTES),
)

GERS2000 = register(Study(name="gers2000", title="Gers, Schmidhuber & Cummins (2000): continual prediction",
                          rows=ROWS, summarize=summarize, table=table, plots=plots,
                          reference="Gers, Schmidhuber & Cummins (2000), Neural Computation 12(10)"))

__all__ = ["GERS2000", "Gers2000Row", "ROWS", "Table2", "cell_state_figure", "cell_states", "plots", "run_stream",
           "run_trial", "summarize", "table"]
