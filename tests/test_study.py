"""Studies (experiments/study.py) run through the same runner, report and command as the 1997 rows.

A toy study, registered for the test only, stands for Gers 2000 / Gers 2002 / Greff 2017: selection by its
name and ids, one atomic file per trial, resume without rerunning, damaged records run again, its own
summary and table in results.json / results.md, and the 1997 "all" left as it was.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from lstmkit.cli import main
from lstmkit.experiments import configs, report, runner, study
from lstmkit.experiments.configs import Quick

CALLS: list[tuple[str, int, int]] = []       # (row id, k, base seed) of every toy trial run


@dataclass(frozen=True)
class ToyPaper:
    score: float

    def as_dict(self) -> dict:
        return {"score": self.score}


@dataclass(frozen=True)
class ToyRow(study.StudyRow):
    id: str
    scale: float
    experiment: str = "toy"
    method: str = "toy"
    setting: str = "a toy"
    trials: int = 3
    max_sequences: int = 50
    quick: Quick = field(default_factory=lambda: Quick(include=True, trials=2, max_sequences=10))
    paper: ToyPaper = ToyPaper(0.5)
    notes: str = ""

    # a study's own fields may be strings, lists, negative or NaN: none of that makes a record damaged
    record_fields = (("score", (float,)), ("label", (str,)), ("lengths", (list,)), ("offset", (float,)))

    def run_trial(self, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
        CALLS.append((self.id, k, base_seed))
        rng = np.random.default_rng(self.seed(k, base_seed))
        n = int(rng.integers(1, self.max_sequences + 1))
        return {"seed": self.seed(k, base_seed), "solved": n < self.max_sequences // 2, "sequences": n,
                "wall_s": 0.001, "details": {"n": n}, "score": float(self.scale * rng.random()),
                "label": "rest", "lengths": [n, 1], "offset": float("nan") if k == 2 else -1.5}


def _summarize(row, trials):
    return {"trials": len(trials), "solved": sum(t["solved"] for t in trials),
            "mean_score": float(np.mean([t["score"] for t in trials])) if trials else None}


def _table(entries):
    lines = ["| id | paper score | our mean score | trials |", "|---|---|---|---|"]
    for e in entries:
        s = e["summary"]
        lines.append(f"| {e['id']} | {e['paper']['score']} | {s['mean_score']:.3f} | {s['trials']} |")
    return "\n".join(lines)


ROWS = (ToyRow("toy-a", 1.0), ToyRow("toy-b", 2.0, quick=Quick(include=False)))
TOY = study.Study(name="toy", title="A toy study (Nobody 2026)", rows=ROWS, summarize=_summarize, table=_table,
                  reference="Nobody (2026)")


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(study.STUDIES, "toy", TOY)
    CALLS.clear()
    return TOY


def test_selection_by_study_id_and_descendants(toy):
    assert configs.select("toy") == list(ROWS)
    assert configs.select("toy", quick=True) == [ROWS[0]]
    assert configs.select("toy-b", quick=True) == [ROWS[1]]          # an id selects itself
    assert set(ROWS) <= set(configs.select(study.DESCENDANTS))
    assert not set(ROWS) & set(configs.select("all"))                 # "all" stays the 1997 paper's rows
    with pytest.raises(ValueError, match=r"a study \((\w+, )*descendants\).*did you mean 'toy-") as e:
        configs.select("toy-x")
    assert "toy, " in str(e.value) and all(f"{name}, " in str(e.value) for name in ("gers2000", "gers2002", "greff"))
    assert study.study_of(ROWS[0]) is TOY and study.study_of(configs.EXPERIMENTS["4-1"]) is None


def test_a_study_row_must_name_its_study_and_ids_are_unique(toy, monkeypatch):
    with pytest.raises(ValueError, match="says experiment='toy'"):
        study.Study(name="other", title="x", rows=ROWS)
    monkeypatch.setattr(study, "STUDIES", dict(study.STUDIES))     # a failed register leaves nothing behind
    with pytest.raises(ValueError, match="duplicate study 'toy'"):
        study.register(study.Study(name="toy", title="x"))
    with pytest.raises(ValueError, match="duplicate row id 'toy-a'"):
        study.register(study.Study(name="toy2", title="x", rows=(dataclasses.replace(ROWS[0], experiment="toy2"),)))


def test_quick_budget_and_fingerprint():
    a = ROWS[0]
    assert a.effective(True).max_sequences == 10 and a.effective(False) is a
    # trial count, paper numbers and the wording do not change what a trial computes; the budget does
    assert dataclasses.replace(a, trials=9, setting="x", notes="y").fingerprint() == a.fingerprint()
    assert a.effective(True).fingerprint() != a.fingerprint()


def test_runner_runs_resumes_and_reports_a_study(toy, tmp_path):
    rows = configs.select("toy")
    res = runner.run(rows, tmp_path, seed=3, workers=1, progress=False)
    assert [len(res[r.id]) for r in rows] == [3, 3] and len(CALLS) == 6
    for r in rows:
        for k in range(3):
            rec = json.loads((tmp_path / "trials" / r.id / f"trial-{k}.json").read_text())
            assert rec["run"] == {"seed": 3, "config": r.fingerprint()} and rec["seed"] == r.seed(k, 3)
    again = runner.run(rows, tmp_path, seed=3, workers=1, progress=False)      # resume: nothing runs again
    assert len(CALLS) == 6 and json.dumps(again, sort_keys=True) == json.dumps(res, sort_keys=True)  # NaN != NaN
    # a record without the study's own field is damaged: that trial (only) runs again
    path = tmp_path / "trials" / "toy-a" / "trial-1.json"
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in rec.items() if k != "score"}))
    with pytest.warns(UserWarning, match="damaged.*'score'"):
        runner.run(rows, tmp_path, seed=3, workers=1, progress=False)
    assert CALLS[6:] == [("toy-a", 1, 3)] and json.loads(path.read_text())["score"] == rec["score"]
    doc = report.build(rows, res, seed=3, quick=False)
    (a, b) = doc["experiments"]
    assert a["study"] == "toy" and a["paper"] == {"score": 0.5} and "run" not in a["trials"][0]
    assert a["summary"]["mean_score"] == pytest.approx(np.mean([t["score"] for t in res["toy-a"]]))
    text = report.tables(doc)
    assert "### A toy study (Nobody 2026)" in text and f"| toy-b | 0.5 | {b['summary']['mean_score']:.3f} | 3 |" in text
    assert report.markdown(doc).startswith("# lstmkit reproduction of Nobody (2026)")


def test_reproduce_command_runs_a_study(toy, tmp_path, capsys):
    args = ["reproduce", "toy", "--quick", "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 rows" in out and "| toy-a |" in out and "toy-b" not in out and len(CALLS) == 2
    assert main(args[:2] + ["--report-only", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "2 of 2 trials finished" in capsys.readouterr().out and len(CALLS) == 2
    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "toy-a" in listed and "toy-b" in listed and "4-1" in listed


def test_real_study_rows_on_dask_workers_give_the_records_of_one_process(tmp_path):
    """The descendants' rows pickle to Dask workers and come back with the records a single process makes."""
    pytest.importorskip("dask.distributed")
    rows = [r.effective(True) for r in configs.select("gers2002-nmsd-peep") + configs.select("gers2000-reset")]
    one = runner.run(rows, tmp_path / "one", trials=1, workers=1, progress=False)
    two = runner.run(rows, tmp_path / "two", trials=2, workers=2, progress=False)

    def strip(rec):
        return {k: v for k, v in rec.items() if k not in ("wall_s", "time_s")}

    for r in rows:
        assert len(two[r.id]) == 2 and strip(two[r.id][0]) == strip(one[r.id][0])
