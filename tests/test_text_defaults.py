"""``train text`` defaults on small texts: streams chosen from the corpus size, a warning for runs with too few
weight updates per epoch, and a short default run that learns (lstmkit.training.text)."""
from __future__ import annotations

import importlib
import json
import warnings

import pytest

from lstmkit.cli import main
from lstmkit.training import config as C
from lstmkit.training import session
from lstmkit.training.text import TextTask, TrainingSetupWarning, auto_streams, updates_per_epoch

from _train_data import same_weights

Q = ["--no-progress", "--quiet"]
SMALL = ["--hidden-size", "32", "--num-layers", "1"]


def prose(n: int) -> str:
    """n characters of real English: the docstrings of standard-library modules."""
    names = ["subprocess", "argparse", "tempfile", "collections", "json", "csv", "difflib", "heapq", "statistics",
             "pickle", "doctest", "random", "string", "unittest", "inspect"]
    text = "\n".join(importlib.import_module(m).__doc__ or "" for m in names)
    if len(text) < n:
        pytest.skip(f"the standard library's docstrings hold {len(text)} characters (python -OO?), {n} needed")
    return text[:n]


def test_auto_streams_follow_the_corpus_size():
    assert auto_streams(31_634, 100) == 3          # the 35 kB GPL-3: 3 streams, 106 updates (32 streams made 10)
    assert updates_per_epoch(31_634, 3, 100) == 106 and updates_per_epoch(31_634, 32, 100) == 10
    assert auto_streams(1_000_000, 100) == 32      # large texts train as before
    assert auto_streams(504_883, 100) == 32        # the Shakespeare example of docs/USAGE.md
    assert auto_streams(5_000, 100) == 1 and auto_streams(10, 100) == 1
    assert auto_streams(31_634, 20) == 15          # shorter chunks: more streams for the same updates
    for n in range(10_001, 400_000, 7_919):        # whenever one stream can make 100 updates, auto makes >= 100
        assert updates_per_epoch(n, auto_streams(n, 100), 100) >= 100


def test_batch_size_defaults_to_auto_and_an_explicit_one_is_respected(tmp_path):
    data = tmp_path / "c.txt"
    data.write_text(prose(9000))
    cfg = C.resolve("text", {}, {"data": str(data)})
    assert cfg.batch_size == "auto"
    assert C.resolve("text", {"batch_size": "auto"}, {"data": str(data)}).batch_size == "auto"    # TOML
    with pytest.raises(ValueError, match=r"--batch-size: expected a positive integer or 'auto' .*got 'many'"):
        C.resolve("text", {"batch_size": "many"}, {"data": str(data)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingSetupWarning)
        assert TextTask(data.read_text(), cfg).cfg.batch_size == 1
        explicit = C.resolve("text", {}, {"data": str(data), "batch_size": 3, "seq_len": 20})   # auto: 4
        assert TextTask(data.read_text(), explicit).cfg.batch_size == 3


def test_batch_size_auto_on_the_command_line(tmp_path, capsys):
    data = tmp_path / "c.txt"
    data.write_text(prose(9000))
    common = ["train", "text", "--data", str(data), "--epochs", "1", "--hidden-size", "4", "--no-progress", "--quiet"]
    assert main([*common, "--batch-size", "auto", "--out", str(tmp_path / "a")]) == 0
    assert "trained in 1 stream(s)" in capsys.readouterr().out
    assert main([*common, "--batch-size", "many", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "--batch-size: expected a number of streams or 'auto'" in err and "_int_or_auto" not in err
    assert not (tmp_path / "b").exists()


def test_a_run_with_few_updates_per_epoch_warns_what_to_change(tmp_path):
    text = prose(15_000)
    cfg = C.resolve("text", {}, {"data": "c.txt", "batch_size": 32})
    with pytest.warns(TrainingSetupWarning, match=r"13500 training characters in 32 stream\(s\), read in chunks of "
                                                  r"--seq-len 100, make only 5 weight updates per epoch \(fewer than "
                                                  r"50\): too few to learn from; leave --batch-size unset \(it would "
                                                  r"choose 1\) or lower it"):
        TextTask(text, cfg)
    tiny = C.resolve("text", {}, {"data": "c.txt"})
    with pytest.warns(TrainingSetupWarning, match=r"in 1 stream\(s\).* make only 27 .*give more text or lower "
                                                  r"--seq-len \(to 53 or less\)"):
        TextTask(text[:3000], tiny)


def test_defaults_learn_on_a_small_real_text_where_32_streams_did_not(tmp_path):
    data = tmp_path / "prose.txt"
    data.write_text(prose(8000))
    out = tmp_path / "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingSetupWarning)
        assert main(["train", "text", "--data", str(data), "--out", str(out), *SMALL, *Q]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["data"]["streams"] == 1 and s["data"]["updates_per_epoch"] == 72
    assert json.loads((out / "config.json").read_text())["batch_size"] == "auto"
    assert json.loads((out / "data.json").read_text())["streams"] == 1
    learned = s["validation"]["bpc"]
    assert learned < s["baselines"]["unigram"]["bpc"] - 0.3, s        # measured (Python 3.11): 4.58 against 5.12
    with pytest.warns(TrainingSetupWarning, match="make only 3 weight updates per epoch"):
        assert main(["train", "text", "--data", str(data), "--out", str(tmp_path / "b32"), "--batch-size", "32",
                     *SMALL, *Q]) == 0
    assert json.loads((tmp_path / "b32" / "summary.json").read_text())["validation"]["bpc"] > learned + 0.3  # 5.24


def test_resume_resolves_the_same_streams(tmp_path):
    data = tmp_path / "prose.txt"
    data.write_text(prose(6000))
    cfg = C.resolve("text", {}, {"data": str(data), "hidden_size": 8, "num_layers": 1, "epochs": 3,
                                 "patience": 0, "seq_len": 20})

    def stop_after_first_epoch(line: str) -> None:
        if line.startswith("epoch   1/"):
            raise KeyboardInterrupt

    session.train("text", cfg, out=tmp_path / "straight", log=lambda line: None)
    with pytest.raises(KeyboardInterrupt):
        session.train("text", cfg, out=tmp_path / "cut", log=stop_after_first_epoch)
    run, summary, _ = session.train("text", None, resume=tmp_path / "cut", log=lambda line: None)
    assert summary["data"]["streams"] == auto_streams(5400, 20) == 2 and summary["epochs_run"] == 3
    assert same_weights(tmp_path / "cut", tmp_path / "straight")
