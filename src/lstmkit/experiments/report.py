"""Ours beside the paper's: per-experiment tables, ``results.json`` and ``results.md``.

``results.json``::

    {"experiments": [
        {"id": "4-1", "method": "lstm1997", "setting": "T=100",
         "paper":   {"source", "success_rate", "mean_sequences", "test_wrong", "test_size", "trials", ...},
         "trials":  [{"seed", "solved", "sequences", "test_wrong", "test_size", "wall_s",
                      "test_error", "details"}, ...],
         "summary": {"success_rate", "mean_sequences", "median_sequences", "min_sequences", "max_sequences",
                     "mean_test_wrong", "mean_test_error", "trials", "solved", "ratio"}},
        ...],
     "run": {"seed", "quick", "lstmkit_version"}}

``sequences`` is the number of training sequences until the stopping rule held (weight guesses for
guessing rows), or the budget spent when it did not; ``mean/median/min/max_sequences`` are over the solved
trials only, as the paper's means are; ``ratio`` is our mean over the paper's (None without both).
``test_wrong`` of ``test_size`` fresh sequences after training; ``test_error`` is the task's mean error on
them (absolute error; Exp 3c: difference to the noise-free target). ``wall_s`` and ``time_s`` (the wall time
split into data, train, criteria, checks, final_test and other; in trial files) are the only fields that are
not reproducible bit for bit.

Rows of a study (study.py: Gers 2000, Gers 2002, Greff 2017) carry ``"study"``; their trials keep every
field of the record but the run key, their summary and table are the study's own.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .configs import experiment_groups
from .study import study_of
from .._atomic import atomic_write_text

TRIAL_KEYS = ("seed", "solved", "sequences", "test_wrong", "test_size", "wall_s", "test_error", "details")


def summarize(trials: Sequence[dict], paper_sequences: float | None = None) -> dict:
    """Success rate and statistics of the solved trials' sequence counts."""
    n = len(trials)
    solved = [t for t in trials if t["solved"]]
    seqs = np.array([t["sequences"] for t in solved], dtype=np.float64)
    mean = float(seqs.mean()) if seqs.size else None
    return {
        "trials": n,
        "solved": len(solved),
        "success_rate": len(solved) / n if n else None,
        "mean_sequences": mean,
        "median_sequences": float(np.median(seqs)) if seqs.size else None,
        "min_sequences": int(seqs.min()) if seqs.size else None,
        "max_sequences": int(seqs.max()) if seqs.size else None,
        "mean_test_wrong": float(np.mean([t["test_wrong"] for t in trials])) if n else None,
        "mean_test_error": float(np.mean([t["test_error"] for t in trials])) if n else None,
        "ratio": mean / paper_sequences if mean is not None and paper_sequences else None,
    }


def _entry(row, records: list[dict]) -> dict:
    """One row's entry of results.json: its trials and their summary, by the 1997 rules or its study's."""
    study = study_of(row)
    if study is None:
        trials = [{k: t[k] for k in TRIAL_KEYS} for t in records]
        summary = summarize(trials, row.paper.sequences)
    else:
        trials = [{k: v for k, v in t.items() if k != "run"} for t in records]
        summary = study.summarize(row, trials)
    entry = {"id": row.id, "experiment": row.experiment, "method": row.method, "setting": row.setting,
             "paper": row.paper.as_dict(), "trials": trials, "summary": summary}
    if study is not None:
        entry["study"] = study.name
    return entry


def build(rows: Sequence, results: dict[str, list[dict]], *, seed: int, quick: bool,
          planned: dict[str, int] | None = None) -> dict:
    """The results.json document for the rows (in registry order) and their trial records.

    ``planned``: the number of trials each row should have, when ``results`` may hold fewer (a report
    of a run still in progress); the summary then says ``"planned"`` and the tables mark the row.
    """
    from .. import __version__

    exps = []
    for row in rows:
        entry = _entry(row, results.get(row.id, []))
        if planned is not None:
            entry["summary"]["planned"] = int(planned[row.id])
        exps.append(entry)
    return {"experiments": exps, "run": {"seed": int(seed), "quick": bool(quick), "lstmkit_version": __version__}}


# ------------------------------------------------------------------------------------------- tables
def _num(v, digits=0) -> str:
    if v is None:
        return "–"
    if digits:
        return f"{v:.{digits}f}"
    return f"{v:,.0f}"


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f} %"


def _wrong(v, size) -> str:
    if v is None:
        return "–"
    w = f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v)}"
    return f"{w}/{size}" if size else w


HEADER = ("| id | method | setting | paper: success | paper: mean seq. | paper: test wrong | "
          "lstmkit: success | mean seq. | median | range | test wrong | ratio |")
RULE = "|" + "---|" * 12


def row_line(e: dict) -> str:
    p, s = e["paper"], e["summary"]
    size = e["trials"][0]["test_size"] if e["trials"] else None
    rng = "–" if s["min_sequences"] is None else f"{s['min_sequences']:,}–{s['max_sequences']:,}"
    ours = "not run" if s["success_rate"] is None else f"{_pct(s['success_rate'])} ({s['solved']}/{s['trials']})"
    if s["success_rate"] is not None and s.get("planned", s["trials"]) > s["trials"]:
        ours += f", {s['trials']} of {s['planned']} trials run"
    return (f"| {e['id']} | {e['method']} | {e['setting']} | {_pct(p['success_rate'])} | "
            f"{_num(p['mean_sequences'])} | {_wrong(p['test_wrong'], p['test_size'])} | {ours} | "
            f"{_num(s['mean_sequences'])} | {_num(s['median_sequences'])} | {rng} | "
            f"{_wrong(s['mean_test_wrong'], size)} | {_num(s['ratio'], 2)} |")


TITLES = {"1": "Experiment 1: embedded Reber grammar (Table 1)",
          "2a": "Experiment 2a: noise-free long lags (Table 2)",
          "2b": "Experiment 2b: no local regularities (Sec. 5.2)",
          "2c": "Experiment 2c: very long lags, many distractors (Table 3)",
          "3a": "Experiment 3a: two-sequence problem (Table 4)",
          "3b": "Experiment 3b: noise on the information too (Table 5)",
          "3c": "Experiment 3c: noisy targets (Table 6)",
          "4": "Experiment 4: adding problem (Table 7)",
          "5": "Experiment 5: multiplication problem (Table 8)",
          "6a": "Experiment 6a: temporal order, 2 symbols (Table 9)",
          "6b": "Experiment 6b: temporal order, 3 symbols (Table 9)",
          "parity": "Parity (random weight guessing, NIPS'96 protocol)"}


QUICK_NOTE = ("**Quick mode**: few trials and capped budgets (a trial stops after at most its quick budget of "
              "sequences), so a low or 0 % success here means the budget ran out, not that the method fails; "
              "the papers' protocols are the full runs (`lstmkit reproduce all`, REPRODUCTION.md; the descendants' "
              "studies: DESCENDANTS.md).")


def tables(doc: dict) -> str:
    """Markdown: one table per experiment, in the paper's order (after the quick-mode caveat, if quick)."""
    by_group: dict[str, list[dict]] = {}
    for e in doc["experiments"]:
        by_group.setdefault(e["experiment"], []).append(e)
    order = [g for g in experiment_groups() if g in by_group] + [g for g in by_group if g not in experiment_groups()]
    parts = [QUICK_NOTE] if doc["run"]["quick"] else []
    for g in order:
        entries = by_group[g]
        if "study" in entries[0]:
            from .study import studies

            study = studies()[entries[0]["study"]]
            parts.append(f"### {study.title}\n\n" + study.table(entries).strip())
        else:
            parts.append(f"### {TITLES.get(g, g)}\n\n{HEADER}\n{RULE}\n" + "\n".join(row_line(e) for e in entries))
    return "\n\n".join(parts) + "\n"


def markdown(doc: dict) -> str:
    run = doc["run"]
    wall = sum(t["wall_s"] for e in doc["experiments"] for t in e["trials"])
    from .study import studies

    named = [s.reference or s.title for s in studies().values()
             if any(e.get("study") == s.name for e in doc["experiments"])]
    papers = " and ".join((["Hochreiter & Schmidhuber (1997)"] if any("study" not in e for e in doc["experiments"])
                           else []) + named) or "Hochreiter & Schmidhuber (1997)"
    head = (f"# lstmkit reproduction of {papers}\n\n"
            f"seed {run['seed']}, {'quick' if run['quick'] else 'full'} run, lstmkit {run['lstmkit_version']}; "
            f"{wall:,.0f} s of trial time in all.\n\n"
            "success = trials whose stopping rule held within the budget; mean/median/range of training "
            "sequences over the solved trials (guessing rows: weight guesses); test wrong = mean wrong test "
            "sequences of the test size; ratio = our mean / the paper's mean.\n\n")
    return head + tables(doc)


def write(out, doc: dict) -> None:
    out = Path(out)
    atomic_write_text(out / "results.json", json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out / "results.md", markdown(doc))


def plots(out, rows: Sequence, results: dict[str, list[dict]]) -> list[Path]:
    """Learning curves (fraction of training sequences correct per chunk) of every trial: DIR/plots/<id>.png;
    a study's rows get its own figures (``Study.plots``)."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    written = []
    by_study: dict = {}
    for row in rows:
        study = study_of(row)
        if study is not None:
            by_study.setdefault(study.name, (study, []))[1].append(row)
            continue
        trials = results.get(row.id, [])
        curves = [t.get("curve") or [] for t in trials]
        if not any(curves):
            continue
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
        for t, c in zip(trials, curves):
            if c:
                arr = np.asarray(c)
                a1.plot(arr[:, 0], arr[:, 1], lw=0.8, label=f"trial {t['trial']}")
                a2.plot(arr[:, 0], arr[:, 2], lw=0.8)
        a1.set(xlabel="training sequences", ylabel="mean training error", yscale="log", title=row.id)
        a2.set(xlabel="training sequences", ylabel="fraction correct", ylim=(-0.02, 1.02), title=row.setting)
        if row.paper.sequences:
            for a in (a1, a2):
                a.axvline(row.paper.sequences, color="k", ls="--", lw=0.8)
        fig.tight_layout()
        path = Path(out) / "plots" / f"{row.id}.png"
        save_png(fig, path, dpi=100)
        plt.close(fig)
        written.append(path)
    for study, study_rows in by_study.values():
        if study.plots is not None:
            written.extend(study.plots(Path(out), study_rows, results))
    return written


__all__ = ["TRIAL_KEYS", "build", "markdown", "plots", "summarize", "tables", "write"]
