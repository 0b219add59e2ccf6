"""Each ``lstmkit train`` path end to end at small scale, plus generate, plot, inspect, a TOML config,
the paper's rule where it applies, and one real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main

from _train_data import corpus, same_weights, sequences_csv, sequences_npz, series_csv

FAST = ["--no-progress", "--quiet", "--hidden-size", "8"]


def test_forecast_end_to_end(tmp_path, capsys):
    data = series_csv(tmp_path / "s.csv", shuffled=True)           # rows out of order: the date column orders them
    out = tmp_path / "run"
    rc = main(["train", "forecast", "--data", str(data), "--target", "y", "--features", "x2", "--window", "12",
               "--horizon", "3", "--epochs", "3", "--out", str(out), *FAST])
    assert rc == 0
    text = capsys.readouterr().out
    assert "persistence" in text and "seasonal naive (m=12)" in text
    s = json.loads((out / "summary.json").read_text())
    assert s["task"] == "forecast" and s["epochs_run"] == 3
    assert set(s["validation"]) >= {"rmse", "mae", "rmse_by_lead"} and len(s["validation"]["rmse_by_lead"]) == 3
    assert s["baselines"]["seasonal_naive"]["period"] == 12
    assert s["baselines"]["persistence"]["rmse"] > 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["window"] == 12 and cfg["features"] == ["x2"] and cfg["cell_options"] == {"forget_bias": 1.0}
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
    net = lstmkit.load(out / "model")
    assert net.rnn.input_size == 2 and net.readout.out_features == 3 and net.dtype == np.float32
    # the model reproduces the reported validation figures
    assert np.isfinite(net.flat).all()
    rc = main(["plot", str(out)])
    assert rc == 0 and (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    rc = main(["inspect", str(out), "--input", str(data), "--out", str(tmp_path / "ins")])
    assert rc == 0
    with np.load(tmp_path / "ins.npz") as z:
        assert z["l0.f"].shape == (240, 8) and z["l0.c"].shape == (240, 8) and z["output"].shape == (240, 3)
        assert ((z["l0.f"] >= 0) & (z["l0.f"] <= 1)).all()
    header = (tmp_path / "ins.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "step" and "l0.i[0]" in header and len(header) == 1 + 6 * 8
    assert (tmp_path / "ins.png").stat().st_size > 1000
    capsys.readouterr()
    assert main(["inspect", str(out), "--input", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.startswith("lstmkit: error: --input: ")      # the option the user gave


def test_text_end_to_end_and_generate(tmp_path, capsys):
    data = corpus(tmp_path / "c.txt")
    out = tmp_path / "run"
    rc = main(["train", "text", "--data", str(data), "--epochs", "2", "--seq-len", "20", "--batch-size", "8",
               "--num-layers", "2", "--out", str(out), *FAST])
    assert rc == 0
    assert "unigram" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    assert s["validation"]["bpc"] > 0 and s["baselines"]["unigram"]["bpc"] > 0
    assert s["model"]["algorithm"] == "tbptt" and s["model"]["num_layers"] == 2
    args = ["generate", str(out), "--prime", "the ", "--length", "40", "--temperature", "0.7", "--seed", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("the ") and len(first.rstrip("\n")) >= 44
    assert main(["inspect", str(out), "--input", str(data), "--max-steps", "50", "--out", str(tmp_path / "t")]) == 0
    with np.load(tmp_path / "t.npz") as z:
        assert z["l1.c"].shape == (50, 8)


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_classify_end_to_end(tmp_path, capsys, kind):
    data = sequences_npz(tmp_path / "d.npz") if kind == "npz" else sequences_csv(tmp_path / "d.csv")
    out = tmp_path / "run"
    assert main(["train", "classify", "--data", str(data), "--epochs", "3", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "majority class" in text and "confusion matrix" in text
    s = json.loads((out / "summary.json").read_text())
    cm = np.array(s["validation"]["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == s["validation"]["sequences"]
    assert s["validation"]["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert s["validation"]["classes"] == ["a", "b", "c"]
    assert 0 < s["baselines"]["majority"]["accuracy"] < 1
    assert main(["inspect", str(out), "--input", str(data), "--index", "4", "--out", str(tmp_path / "i")]) == 0
    capsys.readouterr()
    bad = tmp_path / ("bad.npz" if kind == "npz" else "bad.csv")
    bad.write_text("not data")
    assert main(["inspect", str(out), "--input", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("lstmkit: error: --input: ")


def test_labels_file_for_unlabelled_csv(tmp_path):
    data = sequences_csv(tmp_path / "d.csv", with_label=False)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\n" + "\n".join(f"s{i},{'abc'[i % 3]}" for i in range(60)) + "\n")
    out = tmp_path / "run"
    assert main(["train", "classify", "--data", str(data), "--labels", str(labels), "--epochs", "1",
                 "--out", str(out), *FAST]) == 0
    assert json.loads((out / "summary.json").read_text())["validation"]["classes"] == ["a", "b", "c"]


def test_toml_config_and_flag_precedence(tmp_path):
    series_csv(tmp_path / "s.csv")
    (tmp_path / "cfg.toml").write_text('data = "s.csv"\ntarget = "y"\nwindow = 10\nepochs = 2\nhidden_size = 6\n'
                                      'cell = "lstm"\n[cell_options]\npeepholes = true\n')
    out = tmp_path / "run"
    assert main(["train", "forecast", "--config", str(tmp_path / "cfg.toml"), "--window", "8", "--out", str(out),
                 "--no-progress", "--quiet", "--cell-option", "forget_bias=2.0"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["window"] == 8 and cfg["hidden_size"] == 6 and cfg["epochs"] == 2      # flag beats file
    assert cfg["cell_options"] == {"peepholes": True, "forget_bias": 2.0}
    assert cfg["data"] == str((tmp_path / "s.csv").resolve())                         # relative to the file


@pytest.mark.parametrize("task", ["forecast", "classify"])
def test_rtrl1997_where_it_applies(tmp_path, task):
    data = series_csv(tmp_path / "s.csv", n=80) if task == "forecast" else sequences_npz(tmp_path / "d.npz", n=24)
    extra = ["--target", "y", "--window", "8"] if task == "forecast" else []
    out = tmp_path / "run"
    assert main(["train", task, "--data", str(data), *extra, "--cell", "lstm1997", "--algorithm", "rtrl1997",
                 "--epochs", "2", "--out", str(out), "--no-progress", "--quiet", "--hidden-size", "4",
                 "--cell-option", "block_size=2"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["optimizer"] == "sgd" and cfg["batch_size"] == 1
    assert np.isfinite(lstmkit.load(out / "model").flat).all()


def test_real_subprocess_matches_in_process(tmp_path):
    data = series_csv(tmp_path / "s.csv", n=120)
    args = ["train", "forecast", "--data", str(data), "--target", "y", "--window", "12", "--epochs", "3",
            "--hidden-size", "8", "--seed", "5"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "lstmkit.cli", *args, "--out", str(tmp_path / "sub")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "persistence" in proc.stdout and "Traceback" not in proc.stderr
    assert main([*args, "--out", str(tmp_path / "inproc"), "--no-progress", "--quiet"]) == 0
    assert same_weights(tmp_path / "sub", tmp_path / "inproc")


def test_lstm1997_text_reports_state_drift(tmp_path, capsys):
    data = corpus(tmp_path / "c.txt", n_words=300)
    out = tmp_path / "run"
    assert main(["train", "text", "--data", str(data), "--cell", "lstm1997", "--epochs", "1", "--seq-len", "10",
                 "--batch-size", "4", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "cell states healthy" in text or "internal state drift" in text
    d = json.loads((out / "summary.json").read_text())["state_drift"]
    assert d["steps"] > 0 and 0 <= d["saturated_fraction"] <= 1 and isinstance(d["drifting"], bool)
    assert d["message"].startswith(("cell states healthy", "internal state drift"))
