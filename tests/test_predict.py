"""``lstmkit predict`` and ``Estimator.from_run``: a CLI-trained run answers on new data in the data's units.

Each answer is checked against an independent computation: the forecast backtest against the
validation RMSE training reported, the classifier on the same sequences in two file formats and
against the estimator, the chunked text read against one step at a time.
"""
from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest

from lstmkit.cli import main

from _train_data import corpus, sequences, sequences_csv, sequences_npz, series_csv

FAST = ["--no-progress", "--quiet", "--hidden-size", "8"]


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("fc")
    data = series_csv(d / "s.csv")
    run = d / "run"
    assert main(["train", "forecast", "--data", str(data), "--target", "y", "--features", "x2", "--window", "12",
                 "--horizon", "3", "--epochs", "4", "--out", str(run), *FAST]) == 0
    return run, data


def test_forecast_backtest_reproduces_the_validation_rmse(forecast_run, tmp_path, capsys):
    from lstmkit.runs import Run
    from lstmkit.training import config as C
    from lstmkit.training.session import load_task

    run, data = forecast_run
    capsys.readouterr()
    out, png = tmp_path / "p.csv", tmp_path / "p.png"
    assert main(["predict", str(run), "--input", str(data), "--plot", str(png), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "backtest on 226 origins" in said and "persistence" in said
    rows = _csv(out.read_text())
    back = [r for r in rows if r["actual"]]
    ahead = [r for r in rows if not r["actual"]]
    assert [int(r["lead"]) for r in ahead] == [1, 2, 3] and {int(r["origin"]) for r in ahead} == {239}
    assert len(back) == 226 * 3 and back[0]["date"] == "2001-01"
    # the origins training held out, read back from the CSV: the RMSE training reported
    task, cfg = C.from_dict(Run.open(run).config())
    val = set(load_task(task, cfg).split.val.tolist())
    err = [float(r["forecast"]) - float(r["actual"]) for r in back if int(r["origin"]) in val]
    summary = json.loads((run / "summary.json").read_text())
    assert len(err) == 3 * summary["validation"]["samples"]
    assert np.sqrt(np.mean(np.square(err))) == pytest.approx(summary["validation"]["rmse"], rel=1e-6)
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_forecast_to_stdout_and_from_run_agree(forecast_run, capsys):
    from lstmkit.estimators import LSTMForecaster

    run, data = forecast_run
    capsys.readouterr()
    assert main(["predict", str(run), "--input", str(data)]) == 0
    got = capsys.readouterr()
    assert got.err.startswith("forecast of 'y' after row 239")       # the report on stderr, the CSV alone on stdout
    rows = _csv(got.out)
    assert len(rows) == 3
    table = list(csv.DictReader(open(data)))
    y = np.array([float(r["y"]) for r in table])
    X = np.array([float(r["x2"]) for r in table])[:, None]
    est = LSTMForecaster.from_run(run)
    assert (est.window, est.horizon, est.n_features_in_) == (12, 3, 1)
    np.testing.assert_allclose(est.predict(y, X), [float(r["forecast"]) for r in rows], rtol=1e-8)
    assert -1.0 < est.score(y, X) <= 1.0
    with pytest.raises(ValueError, match="loaded from a run"):
        est.predict()


def test_classify_labels_and_probabilities(tmp_path, capsys):
    from lstmkit.estimators import LSTMClassifier

    npz = sequences_npz(tmp_path / "q.npz")
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(npz), "--epochs", "5", "--out", str(run), *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", str(run), "--input", str(npz)]) == 0
    got = capsys.readouterr()
    rows = _csv(got.out)
    assert len(rows) == 60 and set(rows[0]) == {"id", "label", "p(a)", "p(b)", "p(c)"}
    p = np.array([[float(r[f"p({c})"]) for c in "abc"] for r in rows])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9)
    assert [r["label"] for r in rows] == ["abc"[k] for k in p.argmax(axis=1)]
    truth = sequences()[1]
    acc = np.mean([r["label"] == t for r, t in zip(rows, truth)])
    assert f"accuracy on 60 labelled sequences of {npz}: {acc:.4f}" in got.err
    # the same sequences as an unlabelled long CSV: the same probabilities (rounded to the CSV's 5 digits)
    unlabelled = sequences_csv(tmp_path / "q.csv", with_label=False)
    assert main(["predict", str(run), "--input", str(unlabelled)]) == 0
    got = capsys.readouterr()
    q = np.array([[float(r[f"p({c})"]) for c in "abc"] for r in _csv(got.out)])
    np.testing.assert_allclose(q, p, atol=1e-3)
    assert "60 sequences" in got.err and "accuracy" not in got.err
    est = LSTMClassifier.from_run(run)
    assert est.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(est.predict_proba(sequences()[0]), p, rtol=1e-6)


def test_text_next_character_probabilities(tmp_path, capsys):
    from lstmkit.data.text import one_hot
    from lstmkit.runs import Run
    from lstmkit.training.predictors import from_run

    text = corpus(tmp_path / "c.txt")
    run = tmp_path / "run"
    assert main(["train", "text", "--data", str(text), "--epochs", "2", "--out", str(run), *FAST]) == 0
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("the quick brown fox jumps over the lazy")
    capsys.readouterr()
    assert main(["predict", str(run), "--input", str(prompt), "--top", "3"]) == 0
    got = capsys.readouterr()
    rows = _csv(got.out)
    p = np.array([float(r["probability"]) for r in rows])
    assert p.sum() == pytest.approx(1.0, rel=1e-6) and (np.diff(p) <= 0).all()
    shown = got.err.split(".txt: ", 1)[1].split(";")[0]                  # --top 3: three characters on the screen
    assert shown.count(", ") == 2 and "bits per character" in got.err
    # one character at a time, state carried: the same distribution
    pred = from_run(run)
    net, vocab = pred.net, pred.vocab
    state = None
    for ch in prompt.read_text():
        out, state = net.forward(one_hot(np.array([[vocab.index(ch)]]), len(vocab), net.dtype), state)
    step = out[0, 0].astype(np.float64)
    np.testing.assert_allclose([step[vocab.index(r["character"])] for r in rows], p, rtol=1e-5)
    assert Run.open(run).task == "text"
    bad = tmp_path / "bad.txt"
    bad.write_text("the quick brown fox Ж")
    assert main(["predict", str(run), "--input", str(bad)]) == 2
    assert "not in the model's vocabulary" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["unfinished", "backtest-on-text", "short-series", "fifo-out", "wrong-task"])
def test_predict_refuses_with_one_line(case, forecast_run, tmp_path, capsys):
    run, data = forecast_run
    args = ["predict", str(run), "--input", str(data)]
    expect = ""
    if case == "unfinished":
        half = tmp_path / "half"
        half.mkdir()
        for f in ("run.json", "config.json", "data.json"):
            (half / f).write_bytes((run / f).read_bytes())
        args[1], expect = str(half), "has no final model yet"
    elif case == "backtest-on-text":
        c = corpus(tmp_path / "c.txt", n_words=400)
        assert main(["train", "text", "--data", str(c), "--epochs", "1", "--seq-len", "20", "--out", str(tmp_path / "t"),
                     *FAST]) == 0
        args = ["predict", str(tmp_path / "t"), "--input", str(c), "--backtest"]
        expect = "apply to forecast runs"
    elif case == "short-series":
        lines = data.read_text().splitlines()
        short = tmp_path / "short.csv"
        short.write_text("\n".join(lines[:6]) + "\n")
        args[3], expect = str(short), "give at least 12 rows"
    elif case == "fifo-out":
        os.mkfifo(tmp_path / "fifo")
        args += ["--out", str(tmp_path / "fifo")]
        expect = "--out"
    else:
        from lstmkit.estimators import LSTMClassifier

        with pytest.raises(ValueError, match="is a forecast run; LSTMClassifier loads classify runs"):
            LSTMClassifier.from_run(run)
        return
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error: ") and err.count("\n") == 1 and expect in err
    if case == "fifo-out":
        assert (tmp_path / "fifo").is_fifo()                            # still a FIFO, nothing written into it
