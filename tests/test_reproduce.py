"""``lstmkit reproduce``: results.json schema, determinism over workers, resume after SIGKILL, bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstmkit.cli import main

ROW = "3a-1"            # the quick 3a-1 trial takes about a second
TRIAL_FIELDS = {"seed": int, "solved": bool, "sequences": int, "test_wrong": int, "test_size": int,
                "wall_s": float}


def results(out: Path, strip_wall: bool = True) -> dict:
    doc = json.loads((out / "results.json").read_text())
    if strip_wall:
        for e in doc["experiments"]:
            for t in e["trials"]:
                t.pop("wall_s")
    return doc


def reproduce(*args) -> int:
    return main(["reproduce", *args, "--no-progress"])


def test_results_json_has_the_issue_schema(tmp_path, capsys):
    assert reproduce(ROW, "--quick", "--trials", "2", "--workers", "1", "--out", str(tmp_path)) == 0
    printed = capsys.readouterr().out
    assert "Experiment 3a" in printed and "| 3a-1 | lstm1997 |" in printed
    # quick tables say above them that their budgets are capped (0 % there is not a result)
    assert printed.index("**Quick mode**") < printed.index("Experiment 3a")
    assert "budget ran out, not that the method fails" in (tmp_path / "results.md").read_text()
    doc = results(tmp_path, strip_wall=False)
    assert set(doc) == {"experiments", "run"} and doc["run"]["seed"] == 0 and doc["run"]["quick"] is True
    (e,) = doc["experiments"]
    assert {"id", "method", "setting", "paper", "trials", "summary"} <= set(e)
    assert e["id"] == ROW and e["method"] == "lstm1997"
    assert e["paper"]["mean_sequences"] == 39_850 and e["paper"]["sequences_st1"] == 27_380
    assert len(e["trials"]) == 2
    for t in e["trials"]:
        for key, typ in TRIAL_FIELDS.items():
            assert isinstance(t[key], typ), key
    s = e["summary"]
    assert {"success_rate", "mean_sequences", "median_sequences"} <= set(s)
    solved = [t["sequences"] for t in e["trials"] if t["solved"]]
    assert s["success_rate"] == len(solved) / 2
    if solved:
        assert s["mean_sequences"] == pytest.approx(sum(solved) / len(solved))
    assert (tmp_path / "results.md").read_text().count("| 3a-1 |") == 1
    assert len(list((tmp_path / "trials" / ROW).glob("trial-*.json"))) == 2


def test_same_seed_same_results_with_one_and_two_workers(tmp_path):
    a, b = tmp_path / "w1", tmp_path / "w2"
    assert reproduce(ROW, "--quick", "--trials", "2", "--seed", "4", "--workers", "1", "--out", str(a)) == 0
    assert reproduce(ROW, "--quick", "--trials", "2", "--seed", "4", "--workers", "2", "--out", str(b)) == 0
    assert results(a) == results(b)
    assert len({t["seed"] for t in results(a)["experiments"][0]["trials"]}) == 2


def test_an_existing_dask_cluster_gives_the_same_results(tmp_path):
    """--scheduler: the trials run on a cluster someone else started, and the numbers do not change."""
    from dask.distributed import LocalCluster    # the test extra has it
    a, b = tmp_path / "local", tmp_path / "cluster"
    assert reproduce(ROW, "--quick", "--trials", "2", "--seed", "3", "--workers", "1", "--out", str(a)) == 0
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address="127.0.0.1:0") as cluster:
        assert reproduce(ROW, "--quick", "--trials", "2", "--seed", "3", "--scheduler",
                         cluster.scheduler_address, "--out", str(b)) == 0
        assert "trial" in cluster.scheduler.task_prefixes          # the trials were that cluster's tasks
    assert results(a) == results(b)
    assert len(list((b / "trials" / ROW).glob("trial-*.json"))) == 2


def test_resume_after_sigkill_loses_nothing_and_recomputes_nothing(tmp_path):
    out, ref = tmp_path / "killed", tmp_path / "reference"
    n = 4
    cmd = [sys.executable, "-m", "lstmkit.cli", "reproduce", ROW, "--quick", "--trials", str(n), "--workers", "1",
           "--no-progress", "--out", str(out)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trials_dir = out / "trials" / ROW
    deadline = time.time() + 120
    while time.time() < deadline and len(list(trials_dir.glob("trial-*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in trials_dir.glob("trial-*.json")}
    assert 2 <= len(before) < n, "the run must be killed after some trials finished and before all did"
    assert not (out / "results.json").exists()
    assert not [p for p in trials_dir.iterdir() if p.name.startswith(".")], "no temporary file may be left"
    assert subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode == 0
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in trials_dir.glob("trial-*.json")}
    assert len(after) == n
    for name, state in before.items():
        assert after[name] == state, f"{name} was recomputed"
    assert reproduce(ROW, "--quick", "--trials", str(n), "--workers", "1", "--out", str(ref)) == 0
    assert results(out) == results(ref)


def test_a_different_seed_into_the_same_directory_is_refused(tmp_path, capsys):
    assert reproduce(ROW, "--quick", "--trials", "1", "--workers", "1", "--out", str(tmp_path)) == 0
    capsys.readouterr()
    assert reproduce(ROW, "--quick", "--trials", "1", "--workers", "1", "--seed", "9", "--out", str(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different run" in err[0] and "--out" in err[0]


@pytest.mark.parametrize("args, words", [
    (["4-4"], "did you mean"),
    (["4-1", "--trials", "0"], "--trials"),
    (["4-1", "--workers", "0"], "--workers"),
    ([], "expected a row id"),
    (["4-1", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclude"),
])
def test_bad_input_gives_one_line_and_status_2(args, words, capsys, tmp_path):
    assert reproduce(*args, "--out", str(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not (tmp_path / "results.json").exists()


def test_list_names_every_row(capsys):
    assert main(["reproduce", "--list"]) == 0
    text = capsys.readouterr().out
    for eid in ("1-1", "2c-9", "3c-2", "5-2", "6b", "2a-rtrl-p100", "parity-guess", "6b-modern"):
        assert f"\n{eid} " in text


def test_save_models_and_plots(tmp_path):
    import numpy as np

    import lstmkit
    from lstmkit.experiments import EXPERIMENTS, run_trial

    assert reproduce(ROW, "--quick", "--trials", "1", "--workers", "1", "--out", str(tmp_path), "--save-models",
                     "--plots") == 0
    net = lstmkit.load(tmp_path / "models" / ROW / "trial-0")
    again = run_trial(EXPERIMENTS[ROW].effective(quick=True), 0, 0, keep_model=True)["model"]
    np.testing.assert_array_equal(net.flat, again.flat)
    assert (tmp_path / "plots" / f"{ROW}.png").stat().st_size > 1000


def test_report_only_tables_the_finished_trials_and_marks_the_rest(tmp_path, capsys):
    assert reproduce(ROW, "--quick", "--trials", "2", "--workers", "1", "--out", str(tmp_path)) == 0
    full = results(tmp_path)["experiments"][0]
    (tmp_path / "trials" / ROW / "trial-1.json").unlink()          # as if the run had been stopped
    capsys.readouterr()
    assert reproduce(ROW, "--quick", "--trials", "3", "--report-only", "--out", str(tmp_path)) == 0
    printed = capsys.readouterr().out
    assert "1 of 3 trials finished" in printed and "1 of 3 trials run" in printed
    (e,) = results(tmp_path)["experiments"]
    assert e["trials"] == full["trials"][:1]                         # nothing was run or rerun
    assert e["summary"]["trials"] == 1 and e["summary"]["planned"] == 3
    assert not (tmp_path / "trials" / ROW / "trial-1.json").exists()


def test_report_only_reads_the_runs_seed_and_quick_from_its_trials(tmp_path, capsys):
    assert reproduce(ROW, "--quick", "--trials", "1", "--seed", "5", "--workers", "1", "--out", str(tmp_path)) == 0
    ran = results(tmp_path)
    capsys.readouterr()
    assert reproduce(ROW, "--report-only", "--trials", "1", "--out", str(tmp_path)) == 0   # no --quick, no --seed
    assert "1 of 1 trials finished" in capsys.readouterr().out
    reported = results(tmp_path)
    assert reported["experiments"][0].pop("summary").pop("planned") == 1
    ran["experiments"][0].pop("summary")
    assert reported == ran                                  # the same seed, quick setting and trials
    assert reproduce(ROW, "--report-only", "--seed", "6", "--out", str(tmp_path)) == 2       # a flag that contradicts
    assert "different run" in capsys.readouterr().err


def test_report_only_without_a_run_directory_is_a_one_line_error(tmp_path, capsys):
    assert reproduce(ROW, "--report-only", "--out", str(tmp_path / "nothing")) == 2
    err = capsys.readouterr().err
    assert "holds no finished trials" in err and "Traceback" not in err
