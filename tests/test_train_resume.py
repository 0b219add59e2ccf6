"""Determinism (same seed -> bitwise-identical weights and metrics) and crash safety: a real ``lstmkit
train`` process is killed with SIGKILL in mid-training, resumed with ``--resume``, and must end with the
same weights, bit for bit, as a run that was never interrupted."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lstmkit.cli import main
from lstmkit.runs import Run

from _train_data import corpus, same_weights, sequences_npz, series_csv

Q = ["--no-progress", "--quiet"]


def _argv(task, tmp):
    if task == "forecast":
        data = series_csv(tmp / "s.csv", n=400)
        return ["train", "forecast", "--data", str(data), "--target", "y", "--features", "x2", "--window", "12",
                "--hidden-size", "12", "--epochs", "30", "--patience", "0"]
    if task.startswith("text"):
        data = corpus(tmp / "c.txt", n_words=1200)
        toolbox = ["--cell-option", "recurrent_dropout=0.25", "--cell-option", "zoneout_cell=0.1",
                   "--cell-option", "layer_norm=true", "--embedding-dropout", "0.1"] if task == "text-toolbox" else []
        return ["train", "text", "--data", str(data), "--hidden-size", "16", "--seq-len", "25", "--batch-size", "8",
                "--epochs", "12", "--patience", "0", *toolbox]
    data = sequences_npz(tmp / "d.npz", n=120)
    return ["train", "classify", "--data", str(data), "--hidden-size", "12", "--epochs", "30", "--patience", "0",
            "--batch-size", "16"]


def _metrics(run_dir):
    """The metrics log without the wall-clock fields."""
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.pop("seconds")
        r.pop("throughput")
        out.append(r)
    return out


@pytest.mark.parametrize("task", ["forecast", "text", "classify"])
def test_same_seed_same_weights(tmp_path, task):
    short = _argv(task, tmp_path)
    short[short.index("--epochs") + 1] = "3"
    for name in ("a", "b"):
        assert main([*short, "--out", str(tmp_path / name), *Q]) == 0
    assert main([*short, "--out", str(tmp_path / "c"), "--seed", "1", *Q]) == 0
    assert same_weights(tmp_path / "a", tmp_path / "b")
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    sa = json.loads((tmp_path / "a" / "summary.json").read_text())
    sb = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert sa["validation"] == sb["validation"] and sa["baselines"] == sb["baselines"]
    assert not same_weights(tmp_path / "a", tmp_path / "c")


@pytest.mark.parametrize("task", ["forecast", "text", "classify", "text-toolbox"])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, task):
    """text-toolbox: dropout, zoneout and embedding dropout draw from the checkpointed rng: same masks."""
    argv = _argv(task, tmp_path)
    epochs = int(argv[argv.index("--epochs") + 1])
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", *argv, "--out", str(killed), *Q],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    metrics = killed / "metrics.jsonl"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:               # wait for two finished epochs, then kill -9
            if metrics.is_file() and len(metrics.read_text().splitlines()) >= 2:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.005)
        assert proc.poll() is None, "training finished before it could be interrupted; make it longer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    _, meta = Run(killed).load_checkpoint()             # the checkpoint on disk is whole and checks out
    assert 2 <= meta["loop"]["epoch"] < epochs and not (killed / "model").exists()
    assert main(["train", "--resume", str(killed), *Q]) == 0
    assert main([*argv, "--out", str(tmp_path / "straight"), *Q]) == 0
    assert same_weights(killed, tmp_path / "straight")
    assert _metrics(killed) == _metrics(tmp_path / "straight")
    a, b = (json.loads((d / "summary.json").read_text()) for d in (killed, tmp_path / "straight"))
    assert a["validation"] == b["validation"] and a["epochs_run"] == b["epochs_run"] == epochs
    ca, _ = Run(killed).load_checkpoint()
    cb, _ = Run(tmp_path / "straight").load_checkpoint()
    assert ca.keys() == cb.keys() and all(np.array_equal(ca[k], cb[k]) for k in ca)   # optimiser state too
    # resuming a finished run changes nothing
    assert main(["train", "--resume", str(killed), *Q]) == 0
    assert same_weights(killed, tmp_path / "straight")
