"""The study "gers2002": Gers, Schraudolph & Schmidhuber (2002), "Learning Precise Timing with LSTM
Recurrent Networks", JMLR 3:115-143 - peephole connections on timing and counting tasks.

Every row trains the paper's net (one input, one block of one cell, one output unit) with the 1997
paper's own online rule, truncated RTRL (``learn.rtrl1997``), extended by forget gates, peepholes in the
2002 update order (input and forget gates read s(t-1), the output gate the new s(t)), h dropped
(y_c = y_out s), g = identity, and momentum (v <- mu v - alpha grad, w <- w + v after every step).
The rows differ in the task (``lstmkit.tasks.timing``), in the peepholes and in the forget gate.

Protocol (ours where the paper could not be checked; see docs/descendants-gers2002.md):

``continual`` (MSD, 50-vs-49, GTS, PFG)  The net learns online on *training streams*. A stream starts
    from the reset state (s = 0, all activations 0) and is never reset inside: MSD streams are spike
    trains cut into intervals, GTS/PFG streams run free with no input at all. The stream is aborted at
    the first *piece* (an MSD interval, a GTS/PFG period) with an error at or above beta (0.49 spikes,
    0.3 PFG), as Gers et al. (2000) abort their continual training streams at the first error; a stream
    that reaches ``stream_pieces`` error-free pieces ends there. After such a stream the weights are
    frozen and tested on one test stream of ``test_pieces`` pieces from the reset state; the trial is
    solved if the whole test stream is error-free. ``sequences`` counts training streams.
``reset`` (NMSD)  One interval per sequence, the net reset before each; after ``streak`` consecutive
    correct training sequences the frozen net is tested on ``test_pieces`` fresh sequences, all of
    which must be correct. ``sequences`` counts training sequences.

Both stop at the row's budget: ``max_sequences`` streams/sequences or ``max_steps`` time steps.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks import get_task
from .configs import Quick
from .study import Study, StudyRow, register

NAME = "gers2002"
REFERENCE = ("Gers, Schraudolph & Schmidhuber (2002), Learning Precise Timing with LSTM Recurrent Networks, "
             "JMLR 3:115-143")
PIECE_CHUNK = 1000          # MSD intervals drawn at a time (the data never depend on the budget)
QUICK_STEPS_PER_SEQUENCE = 60   # --quick caps max_steps at this many steps per budgeted sequence


# ------------------------------------------------------------------------------------------- the paper
@dataclass(frozen=True)
class Claim:
    """What the paper says about a row: in words where no number of it could be confirmed."""

    source: str                            # "abstract", "facts §4.2 (study notes, UNCONFIRMED)", ...
    claim: str                             # printed beside our numbers
    success: float | None = None           # a confirmed success fraction, if any (none so far)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "claim": self.claim, "success_rate": self.success}


# ------------------------------------------------------------------------------------------- a row
@dataclass(frozen=True)
class TimingRow(StudyRow):
    """One setting of the 2002 study: task, net switches, learning rule, protocol, budget."""

    id: str
    experiment: str
    method: str
    setting: str
    trials: int
    quick: Quick
    paper: Claim
    notes: str
    task: str                              # lstmkit.tasks name (msd, nmsd, spike_50_49, gts, pfg)
    task_params: tuple[tuple[str, Any], ...] = ()
    peepholes: bool = True
    forget_gate: bool = True
    recurrent: bool = True                 # cell output and gate activations fed back (lstmkit's connectivity F)
    recurrent_sources: str = "all"         # "cells": only the cell output fed back, the paper's ~17 weights
    lr: float = 1e-2                       # alpha; the facts' 1e-5 (UNCONFIRMED) learnt nothing in our budget
    momentum: float = 0.9                  # mu; the facts give 0.99-0.9999 (UNCONFIRMED)
    init_range: float = 0.1                # every weight uniform in [-0.1, 0.1] (facts §4.2)
    in_gate_bias: float = 0.0              # facts §4.2 (UNCONFIRMED; bnnlib's gers02a net agrees)
    forget_gate_bias: float = 2.0          # ours: the facts' -2 (UNCONFIRMED) left GTS unlearnt in pilots
    out_gate_bias: float = 2.0             # facts §4.2 (UNCONFIRMED; bnnlib agrees)
    protocol: str = "continual"            # "continual" or "reset" (module docstring)
    stream_pieces: int = 100               # error-free pieces that end a training stream (then: test)
    test_pieces: int = 1000                # pieces of the test stream (reset protocol: test sequences)
    streak: int = 100                      # reset protocol: consecutive correct sequences before a test
    max_sequences: int = 200_000           # budget: training streams (continual) / sequences (reset)
    max_steps: int = 2_000_000             # budget: time steps of training (binding: ~7-10 s of one core)

    record_fields = (("steps", (int,)), ("test_error_free", (int,)), ("test_max_error", (float,)),
                     ("test_mse", (float,)))

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol: expected one of {tuple(PROTOCOLS)}, got {self.protocol!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum: expected a number in [0, 1), got {self.momentum!r}")

    # ------------------------------------------------------------------ parts
    def make_task(self):
        return get_task(self.task, **dict(self.task_params))

    def build(self, rng: np.random.Generator):
        """The paper's net: 1 input, 1 block of 1 cell (g = h = identity), 1 output unit, all biased."""
        from ..network import LSTM, Network, Readout

        task = self.make_task()
        gates = dict(in_gate_bias=[self.in_gate_bias], out_gate_bias=[self.out_gate_bias])
        if self.forget_gate:
            gates["forget_gate_bias"] = [self.forget_gate_bias]
        rnn = LSTM(task.input_size, 1, cell="lstm1997", forget_gate=self.forget_gate, peepholes=self.peepholes,
                   g="identity", h="identity", recurrent=self.recurrent, recurrent_sources=self.recurrent_sources,
                   init_range=self.init_range, seed=rng, **gates)
        readout = Readout(rnn.output_size, task.output_size, task.output_activation, init_range=self.init_range,
                          seed=rng)
        return Network(rnn, readout)

    def effective(self, quick: bool):
        """``--quick``: the sequence budget capped (StudyRow) and the step budget with it."""
        row = super().effective(quick)
        if quick and self.quick.max_sequences is not None:
            row = dataclasses.replace(row, max_steps=min(row.max_steps,
                                                         QUICK_STEPS_PER_SEQUENCE * self.quick.max_sequences))
        return row

    def run_trial(self, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
        return run_trial(self, k, base_seed, keep_model)


# ------------------------------------------------------------------------------------------- data
class _Pieces:
    """The pieces of training streams: MSD intervals drawn in chunks, or the one fixed GTS/PFG period."""

    def __init__(self, task, rng: np.random.Generator):
        self.rng = rng
        self.generator = task.name in ("gts", "pfg")
        self.piece_task = task.with_params(periods=1) if self.generator else task.with_params(intervals=1)
        self.tol = task.tolerance
        self._chunk, self._i = None, PIECE_CHUNK
        if self.generator:                      # no input, the same targets every period: one piece
            b = self.piece_task.sample(rng, 1)
            self._fixed = (b.x[:, 0].copy(), b.y[:, 0].copy(), b.target_mask[:, 0].copy())

    def next(self):
        """(x (L, 1), y (L, 1), target_mask (L,)) of the next piece."""
        if self.generator:
            return self._fixed
        if self._i == PIECE_CHUNK:
            self._chunk, self._i = self.piece_task.sample(self.rng, PIECE_CHUNK), 0
        b, i = self._chunk, self._i
        self._i += 1
        L = int(b.lengths[i])
        return b.x[:L, i], b.y[:L, i], b.target_mask[:L, i]


def _piece_error(outputs: np.ndarray, y: np.ndarray, tm: np.ndarray) -> float:
    """Largest |output - target| over the piece's target steps (NaN stays NaN)."""
    return float(np.max(np.abs(outputs[:, 0] - y[tm, 0])))


def _test_stream(row: TimingRow, task, tester, rng: np.random.Generator) -> dict:
    """Frozen weights on one test stream of ``test_pieces`` pieces from the reset state."""
    gen = task.name in ("gts", "pfg")
    t = task.with_params(periods=row.test_pieces) if gen else task.with_params(intervals=row.test_pieces)
    b = t.sample(rng, 1)
    x, y, tm = b.x[:, 0], b.y[:, 0], b.target_mask[:, 0]
    res = tester.evaluate(x, y, tm)
    err = np.abs(res.outputs[:, 0] - y[tm, 0])                         # per target step
    # error-free length in pieces: GTS/PFG pieces are periods of F target steps, MSD pieces one spike each
    per = task.F if gen else 1
    bad = ~(err < task.tolerance)
    first_bad = int(np.argmax(bad)) if bad.any() else err.size
    return {"ok": not bad.any(), "error_free": first_bad // per, "max_error": float(np.max(err)),
            "mse": float(np.mean(err ** 2))}


def _test_sequences(row: TimingRow, task, tester, rng: np.random.Generator) -> dict:
    """Frozen weights on ``test_pieces`` fresh sequences, each from the reset state (NMSD)."""
    b = task.sample(rng, row.test_pieces)
    errs = np.empty(b.n)
    for i in range(b.n):
        L = int(b.lengths[i])
        y, tm = b.y[:L, i], b.target_mask[:L, i]
        errs[i] = _piece_error(tester.evaluate(b.x[:L, i], y, tm).outputs, y, tm)
    bad = ~(errs < task.tolerance)
    return {"ok": not bad.any(), "error_free": int(np.argmax(bad)) if bad.any() else b.n,
            "max_error": float(np.max(errs)), "mse": float(np.mean(errs ** 2))}


# ------------------------------------------------------------------------------------------- protocols
def _train_continual(row, task, learner, tester, data_rng, test_rng, details):
    """Training streams aborted at the first wrong piece; a full stream triggers the test."""
    pieces = _Pieces(task, data_rng)
    n = steps = tests = 0
    best, lengths = 0, []
    while n < row.max_sequences and steps < row.max_steps:
        n += 1
        k = 0
        while k < row.stream_pieces:
            x, y, tm = pieces.next()
            res = learner.train_sequence(x, y, tm, reset=k == 0)      # reset only at the stream start
            steps += x.shape[0]
            err = _piece_error(res.outputs, y, tm)
            if not np.isfinite(err):
                details["diverged_at"] = n
                return False, n, steps, tests, None
            if not err < pieces.tol:                                   # the stream ends at its first error
                break
            k += 1
        best = max(best, k)
        lengths.append(k)
        if k == row.stream_pieces:
            tests += 1
            test = _test_stream(row, task, tester, test_rng)
            if test["ok"]:
                details["error_free_pieces"] = _thin(lengths)
                details["best_stream"] = best
                return True, n, steps, tests, test
    details["error_free_pieces"] = _thin(lengths)
    details["best_stream"] = best
    return False, n, steps, tests, None


def _train_reset(row, task, learner, tester, data_rng, test_rng, details):
    """One interval per sequence, reset before each; ``streak`` correct in a row trigger the test."""
    n = steps = tests = streak = best = 0
    while n < row.max_sequences and steps < row.max_steps:
        b = task.sample(data_rng, PIECE_CHUNK)
        for i in range(b.n):
            if n >= row.max_sequences or steps >= row.max_steps:
                break
            n += 1
            L = int(b.lengths[i])
            x, y, tm = b.x[:L, i], b.y[:L, i], b.target_mask[:L, i]
            err = _piece_error(learner.train_sequence(x, y, tm).outputs, y, tm)
            steps += L
            if not np.isfinite(err):
                details["diverged_at"] = n
                return False, n, steps, tests, None
            streak = streak + 1 if err < task.tolerance else 0
            best = max(best, streak)
            if streak >= row.streak:
                tests += 1
                test = _test_sequences(row, task, tester, test_rng)
                if test["ok"]:
                    details["best_streak"] = best
                    return True, n, steps, tests, test
                streak = 0
    details["best_streak"] = best
    return False, n, steps, tests, None


PROTOCOLS = {"continual": (_train_continual, _test_stream), "reset": (_train_reset, _test_sequences)}


def _thin(values: list[int], points: int = 200) -> list[list[int]]:
    """[stream index, error-free pieces] at most ``points`` of them, evenly spaced (a learning curve)."""
    if not values:
        return []
    idx = np.unique(np.linspace(0, len(values) - 1, min(points, len(values))).astype(int))
    return [[int(i) + 1, int(values[i])] for i in idx]


# ------------------------------------------------------------------------------------------- one trial
def run_trial(row: TimingRow, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
    """Trial ``k`` of ``row``: a pure function of (row, k, base_seed); returns the JSON-able record."""
    from ..learn.rtrl1997 import RTRL1997

    t0 = time.perf_counter()
    seed = row.seed(k, base_seed)
    init_ss, data_ss, test_ss = np.random.SeedSequence(seed).spawn(3)
    task = row.make_task()
    net = row.build(np.random.default_rng(init_ss))
    learner = RTRL1997(net, lr=row.lr, momentum=row.momentum)
    tester = RTRL1997(net, lr=row.lr)           # its own state: evaluating never disturbs a training stream
    details: dict = {"weights0": net.flat.tolist(), "budget": [row.max_sequences, row.max_steps]}
    train, final_test = PROTOCOLS[row.protocol]
    test_rng = np.random.default_rng(test_ss)
    solved, n, steps, tests, test = train(row, task, learner, tester, np.random.default_rng(data_ss),
                                          test_rng, details)
    if test is None:                            # unsolved: the final weights on a test all the same
        test = final_test(row, task, tester, test_rng) if np.all(np.isfinite(net.flat)) else \
            {"ok": False, "error_free": 0, "max_error": float("nan"), "mse": float("nan")}
    details.update(tests=tests, stopped_by="rule" if solved else "budget", weights=net.flat.tolist())
    record = {"id": row.id, "trial": int(k), "seed": seed, "solved": bool(solved), "sequences": int(n),
              "steps": int(steps), "test_error_free": int(test["error_free"]),
              "test_max_error": float(test["max_error"]), "test_mse": float(test["mse"]),
              "wall_s": round(time.perf_counter() - t0, 3), "details": details}
    if keep_model:
        record["model"] = net
    return record


# ------------------------------------------------------------------------------------------- the rows
def _tp(**kw) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(kw.items()))


_ABSTRACT = "abstract (confirmed)"
_NOTES = "facts §4.2 (study notes, UNCONFIRMED)"
_P12 = "facts §4.2, p. 12 of the paper (UNCONFIRMED)"
_QUICK = Quick(include=True, trials=1, max_sequences=20_000)
_COMMON = ("net: 1 input, 1 block of 1 cell, g = h = identity, 1 output, all units biased, cell output and "
           "gate activations fed back (lstmkit's connectivity F: 12 recurrent weights more than the paper's "
           "~17); forget-gate bias +2 and alpha = 1e-2, mu = 0.9 are ours (pilots), budget ours")

ROWS: list[TimingRow] = []


def _row(id_, setting, task, params, paper, protocol="continual", **kw) -> None:
    notes = kw.pop("notes", "")
    ROWS.append(TimingRow(id=f"{NAME}-{id_}", experiment=NAME, method="lstm1997", setting=setting, trials=10,
                          quick=kw.pop("quick", _QUICK), paper=paper, notes="; ".join(x for x in (_COMMON, notes) if x),
                          task=task, task_params=params, protocol=protocol, **kw))


for _peep in (True, False):
    _p = "peep" if _peep else "nopeep"
    _w = "with" if _peep else "without"
    _row(f"msd-{_p}", f"MSD F=10, I in {{0,1}}, continual, {_w} peepholes", "msd", _tp(F=10, i_max=1),
         Claim(_P12, "solved with and without peepholes (F=10, I in {0,1} or {0,1,2})"), peepholes=_peep)
    _row(f"nmsd-{_p}", f"NMSD F=10, I in {{0,1}}, reset per interval, {_w} peepholes", "nmsd", _tp(F=10, i_max=1),
         Claim(_P12, "peepholes not mandatory for MSD; peephole LSTM better on some settings"), protocol="reset",
         peepholes=_peep, max_sequences=300_000, quick=Quick(include=True, trials=1, max_sequences=40_000))
    _row(f"spike5049-{_p}", f"spikes 49 or 50 steps apart (MSD F=49, I in {{0,1}}), {_w} peepholes",
         "spike_50_49", _tp(F=49, i_max=1),
         Claim(_ABSTRACT, "peephole LSTM learns the 50 vs 49 distinction" if _peep else
               "not claimed without peepholes"), peepholes=_peep, stream_pieces=50, test_pieces=200,
         max_steps=3_000_000)
    _row(f"gts-{_p}", f"GTS F=10, {_w} peepholes", "gts", _tp(F=10),
         Claim(_ABSTRACT if _peep else _NOTES, "peephole LSTM generates stable streams of timed spikes"
               if _peep else "GTS shown only with peepholes"), peepholes=_peep)
    for _shape in ("cos", "triangle", "rectangle"):
        _row(f"pfg-{_shape}-{_p}", f"PFG {_shape} F=10, {_w} peepholes", "pfg", _tp(F=10, shape=_shape),
             Claim(_ABSTRACT if _peep else _NOTES, "peephole LSTM generates highly nonlinear periodic patterns"
                   if _peep else "PFG shown only with peepholes"), peepholes=_peep)
_row("gts-peep-noforget", "GTS F=10, peepholes, no forget gate", "gts", _tp(F=10),
     Claim(_NOTES, "without the forget gate GTS did not converge"), forget_gate=False)
# The paper's weight count: with only the cell output fed back (lstm1997's recurrent_sources="cells", added
# for Gers 2000's CERG net) the peephole net has 4 input + 4 bias + 4 recurrent + 3 peephole + 2 output = 17.
for _id, _setting, _task, _params in (("gts", "GTS F=10", "gts", _tp(F=10)),
                                     ("pfg-cos", "PFG cos F=10", "pfg", _tp(F=10, shape="cos"))):
    _row(f"{_id}-peep-cellsonly", f"{_setting}, peepholes, only the cell output fed back (17 weights)", _task,
         _params, Claim(_ABSTRACT, "peephole LSTM generates stable streams of timed spikes" if _task == "gts"
                        else "peephole LSTM generates highly nonlinear periodic patterns"),
         recurrent_sources="cells",
         notes="recurrent_sources='cells': the gates and the cell input read only the previous cell output, "
               "which gives the paper's ~17 weights")
_row("gts-peep-factsinit", "GTS F=10, peepholes, the facts' setup: alpha=1e-5, mu=0.99, forget bias -2", "gts",
     _tp(F=10), Claim(_ABSTRACT, "peephole LSTM generates stable streams of timed spikes"), lr=1e-5,
     momentum=0.99, forget_gate_bias=-2.0,
     notes="the facts' (UNCONFIRMED) learning rate, momentum and forget-gate bias, to show what they give here")


# ------------------------------------------------------------------------------------------- report
def summarize(row: TimingRow, trials: list[dict]) -> dict:
    """The row's summary in results.json: solved count, streams to solve, test lengths, time."""
    solved = [t for t in trials if t["solved"]]
    seqs = [t["sequences"] for t in solved]
    # the budget the trials ran with (--quick caps it), else the row's
    budget = max((tuple(t["details"]["budget"]) for t in trials if "budget" in t["details"]),
                 default=(row.max_sequences, row.max_steps))
    return {"trials": len(trials), "solved": len(solved),
            "success_rate": len(solved) / len(trials) if trials else None,
            "mean_sequences": float(np.mean(seqs)) if seqs else None,
            "median_sequences": float(np.median(seqs)) if seqs else None,
            "mean_steps_solved": float(np.mean([t["steps"] for t in solved])) if solved else None,
            "mean_test_error_free": float(np.mean([t["test_error_free"] for t in trials])) if trials else None,
            "test_pieces": row.test_pieces, "max_sequences": int(budget[0]), "max_steps": int(budget[1]),
            "wall_s": float(sum(t["wall_s"] for t in trials))}


def table(entries: list[dict]) -> str:
    """Markdown: ours beside what the paper claims, one line per row."""
    lines = ["| row | setting | ours: solved | streams to solve (mean / median) | test error-free pieces (mean) "
             "| budget | wall s | paper |", "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        s, p = e["summary"], e["paper"]
        fmt = lambda v: "-" if v is None else f"{v:,.0f}"
        lines.append(f"| {e['id']} | {e['setting']} | {s['solved']}/{s['trials']} | "
                     f"{fmt(s['mean_sequences'])} / {fmt(s['median_sequences'])} | "
                     f"{fmt(s['mean_test_error_free'])} of {s['test_pieces']:,} | "
                     f"{s['max_sequences']:,} seq. / {s['max_steps']:,} steps | {s['wall_s']:.0f} | "
                     f"{p['claim']} ({p['source']}) |")
    return "\n".join(lines)


def generated(row: TimingRow, weights, periods: int = 5):
    """(targets, outputs) (T,) of a net with ``weights`` running free from its reset for ``periods`` pieces."""
    from ..learn.rtrl1997 import RTRL1997

    task = row.make_task()
    net = row.build(np.random.default_rng(0))
    net.flat[...] = np.asarray(weights, dtype=net.dtype)
    t = task.with_params(periods=periods) if task.name in ("gts", "pfg") else task.with_params(intervals=periods)
    b = t.sample(np.random.default_rng(0), 1)
    x, y, tm = b.x[:, 0], b.y[:, 0], b.target_mask[:, 0]
    out = np.full(y.shape[0], np.nan)
    out[tm] = RTRL1997(net).evaluate(x, y, tm).outputs[:, 0]
    return y[:, 0], out, x[:, 0]


def _best(trials: list[dict]) -> dict | None:
    """The trial to draw: a solved one with the fewest streams, else the longest error-free test."""
    if not trials:
        return None
    return min(trials, key=lambda t: (not t["solved"], t["sequences"] if t["solved"] else -t["test_error_free"]))


def plots(out: Path, rows, results: dict[str, list[dict]]) -> list[Path]:
    """A generated spike train (GTS) and generated waves (PFG) against their targets; MSD outputs.

    One panel per group of rows; it draws the group's best trial (a solved one with the fewest streams,
    else the longest error-free test), so a wave that only the net without peepholes learnt is shown."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    by_id = {r.id: r for r in rows}
    p = lambda *names: [f"{NAME}-{n}" for n in names]
    figures = (("gts", [p("gts-peep"), p("gts-nopeep")]),
               ("pfg", [p(f"pfg-{s}-peep", f"pfg-{s}-nopeep") for s in ("cos", "triangle", "rectangle")]),
               ("msd", [p("msd-peep"), p("msd-nopeep")]))
    written = []
    for name, groups in figures:
        panels = []
        for group in groups:
            cands = [(rid, t) for rid in group if rid in by_id for t in results.get(rid, [])]
            if cands:
                best = _best([t for _, t in cands])
                panels.append(next((rid, t) for rid, t in cands if t is best))
        if not panels:
            continue
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.3 * len(panels)), squeeze=False)
        for ax, (rid, trial) in zip(axes[:, 0], panels):
            y, o, x = generated(by_id[rid], trial["details"]["weights"], periods=6 if name != "msd" else 8)
            t = np.arange(y.size)
            if name == "msd":
                ax.plot(t, x, color="0.7", lw=1, label="input spikes")
                m = ~np.isnan(o)
                ax.plot(t[m], y[m], "o", color="k", ms=5, label="target I(n)")
                ax.plot(t[m], o[m], "x", color="tab:red", ms=7, label="output at the spikes")
            else:
                ax.plot(t, y, color="k", lw=1.2, drawstyle="steps-mid" if name == "gts" else "default",
                        label="target")
                ax.plot(t, o, color="tab:red", lw=1.2, marker=".", label="generated (no input, no reset)")
            state = "solved" if trial["solved"] else "not solved"
            ax.set_title(f"{rid}: trial {trial['trial']} ({state}, {trial['sequences']:,} training streams)",
                         fontsize=9)
            ax.legend(fontsize=7, loc="upper right")
        axes[-1, 0].set_xlabel("time step from the reset")
        fig.tight_layout()
        path = Path(out) / "plots" / f"{NAME}-{name}.png"
        save_png(fig, path)
        plt.close(fig)
        written.append(path)
    return written


STUDY = register(Study(name=NAME, title="Gers, Schraudolph & Schmidhuber (2002): timing and counting",
                       rows=tuple(ROWS), summarize=summarize, table=table, plots=plots, reference=REFERENCE))

__all__ = ["Claim", "PROTOCOLS", "ROWS", "STUDY", "TimingRow", "generated", "plots", "run_trial", "summarize",
           "table"]
