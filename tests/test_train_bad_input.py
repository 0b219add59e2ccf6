"""Bad input to train/generate/plot/inspect: exit code 2, one line on stderr, no traceback, nothing left behind.

Also the numerical-health stops: a NaN loss or an exploding gradient ends training with a diagnostic,
keeps the last good checkpoint (finite) and writes no model.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from lstmkit.cli import main
from lstmkit.runs import Run

from _train_data import corpus, sequences_csv, series_csv

Q = ["--no-progress", "--quiet", "--hidden-size", "4", "--epochs", "1"]


def _write(path, text):
    path.write_text(text)
    return str(path)


def _case_files(tmp):
    """name -> (argv, words the message must contain)."""
    good = str(series_csv(tmp / "good.csv", n=60))
    cases = {
        "missing file": (["train", "forecast", "--data", str(tmp / "nope.csv"), "--target", "y"], ["does not exist"]),
        "non-numeric cell": (["train", "forecast", "--data", _write(tmp / "nn.csv", "y,x\n1,2\n2,abc\n3,4\n"),
                              "--target", "y", "--features", "x"], ["row 2", "'x'", "'abc'", "not a number"]),
        "NaN gap": (["train", "forecast", "--data", _write(tmp / "gap.csv", "y\n1\n2\n\n4\nNA\n"), "--target", "y"],
                    ["gap", "row 3"]),
        "series shorter than window": (["train", "forecast", "--data", _write(tmp / "short.csv",
                                        "y\n" + "\n".join(str(i) for i in range(20)) + "\n"), "--target", "y",
                                        "--window", "24"], ["too short", "window 24"]),
        "unknown column": (["train", "forecast", "--data", good, "--target", "Y"], ["unknown column 'Y'", "did you mean"]),
        "unknown feature": (["train", "forecast", "--data", good, "--target", "y", "--features", "x3"],
                            ["unknown column 'x3'"]),
        "duplicate date": (["train", "forecast", "--data", _write(tmp / "dup.csv", "date,y\n2020-01,1\n2020-02,2\n2020-01,3\n"),
                            "--target", "y"], ["duplicate date"]),
        "bad date": (["train", "forecast", "--data", _write(tmp / "bd.csv", "date,y\n2020-01,1\nyesterday,2\n"),
                      "--target", "y", "--date", "date"], ["not a date", "row 2"]),
        "ragged csv": (["train", "forecast", "--data", _write(tmp / "rag.csv", "y,x\n1,2\n3\n"), "--target", "y"],
                       ["line 3", "fields"]),
        "empty csv": (["train", "forecast", "--data", _write(tmp / "empty.csv", ""), "--target", "y"], ["empty"]),
        "empty corpus": (["train", "text", "--data", _write(tmp / "empty.txt", "  \n\n")], ["empty corpus"]),
        "not utf-8": (["train", "text", "--data", str(_bytes(tmp / "latin.txt", b"caf\xe9 " * 50))], ["UTF-8"]),
        "label file mismatch": (["train", "classify", "--data", str(sequences_csv(tmp / "nolab.csv", with_label=False)),
                                 "--labels", _write(tmp / "lab.csv", "id,label\ns0,a\ns1,b\ns999,c\n")],
                                ["does not match", "no label for sequence", "'s999'"]),
        "npz label count": (["train", "classify", "--data", str(_npz(tmp / "bad.npz"))], ["3 sequences but 2 labels"]),
        "label changes within a sequence": (["train", "classify", "--data", _write(
            tmp / "chg.csv", "id,time,f,label\na,0,1,x\na,1,2,y\nb,0,1,x\n")], ["one label"]),
        "missing labels": (["train", "classify", "--data", str(sequences_csv(tmp / "nolab2.csv", with_label=False))],
                           ["--labels"]),
        "toml unknown key": (["train", "forecast", "--config", _write(tmp / "c1.toml", f'data = "{good}"\ntarget = "y"\n'
                                                                                     'hiden_size = 3\n')],
                             ["unknown key 'hiden_size'", "hidden_size"]),
        "toml wrong type": (["train", "forecast", "--config", _write(tmp / "c2.toml", f'data = "{good}"\ntarget = "y"\n'
                                                                                    'window = "long"\n')],
                            ["window", "expects int"]),
        "toml syntax": (["train", "forecast", "--config", _write(tmp / "c3.toml", "data = \n")], ["not valid TOML"]),
        "unknown cell option": (["train", "forecast", "--data", good, "--target", "y", "--cell-option", "foo=1"],
                                ["unknown option", "foo"]),
        "rtrl1997 on modern cell": (["train", "forecast", "--data", good, "--target", "y", "--algorithm", "rtrl1997"],
                                    ["lstm1997"]),
        "unknown cell": (["train", "forecast", "--data", good, "--target", "y", "--cell", "gru"], ["unknown cell 'gru'"]),
        "zero window": (["train", "forecast", "--data", good, "--target", "y", "--window", "0"], ["--window"]),
        "no task": (["train"], ["name a task"]),
        "out inside a file": (["train", "forecast", "--data", good, "--target", "y", "--out", good + "/run"],
                              ["cannot create the run directory"]),
        "plot into a missing dir": (["plot", str(tmp / "nothing2"), "--out", str(tmp / "no" / "x.png")],
                                    ["not a directory"]),
        "not a run dir (resume)": (["train", "--resume", str(_dir(tmp / "plain"))], ["not an lstmkit run directory"]),
        "missing run dir (plot)": (["plot", str(tmp / "nothing")], ["not a directory"]),
        "not a run dir (generate)": (["generate", str(_dir(tmp / "plain2"))], ["not an lstmkit run directory"]),
    }
    return cases


def _bytes(path, data):
    path.write_bytes(data)
    return path


def _npz(path):
    np.savez(path, x=np.zeros((3, 5, 2)), y=np.array([0, 1]))
    return path


def _dir(path):
    path.mkdir(exist_ok=True)
    (path / "something.txt").write_text("x")
    return path


def _listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_bad_input_table(tmp_path, capsys):
    cases = _case_files(tmp_path)
    failures = []
    for name, (argv, words) in cases.items():
        before = _listing(tmp_path)
        out = tmp_path / "out-run"
        extra = ([] if "--out" in argv else ["--out", str(out)]) + Q \
            if argv[:1] == ["train"] and len(argv) > 1 and argv[1] != "--resume" else []
        rc = main(argv + extra)
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        problems = []
        if rc != 2:
            problems.append(f"exit {rc}")
        if len(lines) != 1 or not lines[0].startswith("lstmkit: error: "):
            problems.append(f"stderr {err!r}")
        if "Traceback" in err:
            problems.append("traceback")
        for w in words:
            if w not in err:
                problems.append(f"message lacks {w!r}: {err.strip()}")
        if out.exists() or _listing(tmp_path) != before:
            problems.append(f"left files behind: {sorted(set(_listing(tmp_path)) - set(before))}")
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("textrun")
    data = corpus(tmp / "c.txt", n_words=300)
    assert main(["train", "text", "--data", str(data), "--out", str(tmp / "run"), "--batch-size", "4",
                 "--seq-len", "10", *Q]) == 0
    return tmp / "run"


def _one_line_error(capsys, argv, *words):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith("lstmkit: error: "), err
    for w in words:
        assert w in err, err


def test_run_directory_problems(text_run, tmp_path, capsys):
    _one_line_error(capsys, ["generate", str(text_run), "--prime", "€"], "not in the model's vocabulary")
    _one_line_error(capsys, ["generate", str(text_run), "--temperature", "0"], "--temperature")
    _one_line_error(capsys, ["train", "forecast", "--resume", str(text_run)], "text run, not forecast")
    _one_line_error(capsys, ["train", "text", "--resume", str(text_run), "--epochs", "3"], "drop --epochs")
    # without a task argparse takes "3" for one; the error must still say why, on one line
    rc = main(["train", "--resume", str(text_run), "--epochs", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "invalid choice: '3'" in err and "--resume RUN_DIR takes none" in err, err
    _one_line_error(capsys, ["train", "text", "--data", str(tmp_path / "x.txt"), "--out", str(text_run)],
                    "already exists")
    # a model written by a future lstmkit
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(text_run, copy)
    meta = json.loads((copy / "model" / "config.json").read_text())
    meta["format_version"] = 99
    (copy / "model" / "config.json").write_text(json.dumps(meta))
    _one_line_error(capsys, ["generate", str(copy)], "format version 99")
    run_meta = json.loads((copy / "run.json").read_text())
    run_meta["format_version"] = 7
    (copy / "run.json").write_text(json.dumps(run_meta))
    _one_line_error(capsys, ["plot", str(copy)], "run format version 7")


def test_resume_refuses_changed_data(tmp_path, capsys):
    data = series_csv(tmp_path / "s.csv", n=60)
    out = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(data), "--target", "y", "--window", "6", "--out", str(out),
                 "--no-progress", "--quiet", "--hidden-size", "4", "--epochs", "2"]) == 0
    (out / "summary.json").unlink()                        # pretend it was interrupted
    data.write_text(data.read_text().replace("2000-01,", "2000-01,1"))
    _one_line_error(capsys, ["train", "--resume", str(out)], "changed since the run started")


def test_nan_loss_keeps_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    import lstmkit.training.common as C     # the minibatch epoch of every task computes its loss there

    real, calls = C.mean_loss, {"n": 0}

    def poisoned(*a, **k):                                    # the 3rd epoch's first batch turns NaN
        calls["n"] += 1
        value, d = real(*a, **k)
        return (float("nan"), d) if calls["n"] > 2 * per_epoch else (value, d)

    data = series_csv(tmp_path / "s.csv", n=80)
    per_epoch = 2                                             # 80 rows, window 6: 58 samples -> 2 batches of 32
    monkeypatch.setattr(C, "mean_loss", poisoned)
    out = tmp_path / "run"
    rc = main(["train", "forecast", "--data", str(data), "--target", "y", "--window", "6", "--out", str(out),
               "--no-progress", "--quiet", "--hidden-size", "4", "--epochs", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "loss became nan at epoch 3, batch 1" in err and "last good checkpoint (epoch 2)" in err
    arrays, meta = Run(out).load_checkpoint()
    assert meta["loop"]["epoch"] == 2 and np.isfinite(arrays["weights"]).all()
    assert not (out / "model").exists() and not (out / "summary.json").exists()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_exploding_gradient_stops_before_any_step(tmp_path, capsys):
    data = series_csv(tmp_path / "s.csv", n=80)
    out = tmp_path / "run"
    rc = main(["train", "forecast", "--data", str(data), "--target", "y", "--window", "6", "--out", str(out),
               "--no-progress", "--quiet", "--hidden-size", "4", "--grad-norm-limit", "1e-9"])
    err = capsys.readouterr().err
    assert rc == 2 and "gradient exploded at epoch 1, batch 1" in err and "nothing was kept" in err
    assert not out.exists()                                  # no finished epoch: no half run left behind
