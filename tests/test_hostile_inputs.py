"""Hostile and careless inputs, and the filesystem around them: nothing lstmkit did not write is destroyed,
every failure is one line, sizes are checked before allocation, and damaged files are named as damaged.

Each test here was written against a defect found by trying lstmkit as a new user and as an attacker
would (the safety issue); each fails on the code before its fix. The CLI cases run ``lstmkit.cli.main``
in this process where that is enough, and a real subprocess where signals, pipes or two processes at
once are the point.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import explain, main
from lstmkit.runs import Run

from _train_data import corpus, series_csv

Q = ["--no-progress", "--quiet", "--hidden-size", "4", "--epochs", "1"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
ROOT = os.geteuid() == 0


def _net():
    return lstmkit.Network(lstmkit.LSTM(2, 3, seed=0), lstmkit.Readout(3, 1, "logistic", seed=1))


def _tree(path: Path) -> dict[str, bytes | str]:
    """Everything under ``path`` (not following symlinks): relative name -> bytes, or the link target."""
    out = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = p.read_bytes()
        else:
            out[rel] = stat.filemode(p.lstat().st_mode)
    return out


def _specials(tmp: Path) -> dict[str, Path]:
    """A FIFO, a character device (root only: a private copy of /dev/null), a symlink to a file, a directory."""
    (tmp / "precious.txt").write_text("keep me\n")
    os.mkfifo(tmp / "fifo")
    os.symlink(tmp / "precious.txt", tmp / "link")
    (tmp / "adir").mkdir()
    (tmp / "adir" / "inside.txt").write_text("mine\n")
    out = {"FIFO": tmp / "fifo", "symlink": tmp / "link", "directory": tmp / "adir"}
    if ROOT:
        os.mknod(tmp / "dev", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        out["character device"] = tmp / "dev"
    return out


def _one_line(capsys, argv, *words, code=2):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == code and len(err.strip().splitlines()) == 1 and err.startswith("lstmkit: "), (rc, err)
    assert "Traceback" not in err
    for w in words:
        assert w in err, err
    return err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished forecast run and a finished text run."""
    tmp = tmp_path_factory.mktemp("hostile-runs")
    series = series_csv(tmp / "s.csv", n=80)
    assert main(["train", "forecast", "--data", str(series), "--target", "y", "--window", "8", "--out",
                 str(tmp / "f"), *Q]) == 0
    text = corpus(tmp / "c.txt", n_words=300)
    assert main(["train", "text", "--data", str(text), "--out", str(tmp / "t"), "--batch-size", "2",
                 "--seq-len", "10", *Q]) == 0
    return {"forecast": tmp / "f", "text": tmp / "t", "series": series, "corpus": text, "tmp": tmp}


# ======================================================================================= data loss
def test_save_refuses_every_path_that_is_not_a_model_directory(tmp_path):
    net = _net()
    work = tmp_path / "work"                                   # what save(os.getcwd()) used to wipe
    work.mkdir()
    (work / "thesis.tex").write_text("years of work\n")
    (work / "config.json").write_text('{"format": "lstmkit-model"}')   # a marker alone does not make it ours
    targets = {**_specials(tmp_path), "working directory": work}
    before = _tree(tmp_path)
    for kind, path in targets.items():
        with pytest.raises(ValueError, match="leaves this one as it is|not an lstmkit model directory"):
            net.save(path)
    old = os.getcwd()
    os.chdir(work)
    try:
        with pytest.raises(ValueError, match="not an lstmkit model directory"):
            net.save(os.getcwd())
    finally:
        os.chdir(old)
    assert _tree(tmp_path) == before                            # not a byte changed, no temporary left


def test_save_replaces_its_own_model_atomically_and_only_that(tmp_path):
    a, b = _net(), lstmkit.Network(lstmkit.LSTM(2, 3, seed=5), lstmkit.Readout(3, 1, "logistic", seed=6))
    a.save(tmp_path / "m")
    b.save(tmp_path / "m")                                      # a model directory of lstmkit's: replaced
    assert np.array_equal(lstmkit.load(tmp_path / "m").flat, b.flat)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary or old copy left
    (tmp_path / "empty").mkdir()
    a.save(tmp_path / "empty")                                  # an empty directory holds nothing to lose
    assert np.array_equal(lstmkit.load(tmp_path / "empty").flat, a.flat)
    (tmp_path / "m" / "notes.txt").write_text("added by the user")   # now it is not only lstmkit's
    with pytest.raises(ValueError, match="not an lstmkit model directory"):
        a.save(tmp_path / "m")
    assert (tmp_path / "m" / "notes.txt").read_text() == "added by the user"


def test_model_directories_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _net().save(tmp_path / "shared")
        os.umask(0o077)
        _net().save(tmp_path / "private")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o755          # others can load it
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "shared").iterdir()} == {0o644}
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "private").iterdir()} == {0o600}


def test_out_of_every_writer_refuses_devices_fifos_symlinks_and_directories(runs, tmp_path, capsys):
    specials = _specials(tmp_path)
    before = _tree(tmp_path)
    f, t = str(runs["forecast"]), str(runs["text"])
    for kind, path in specials.items():
        for argv in (["plot", f, "--out", str(path)],
                     ["generate", t, "--length", "5", "--out", str(path)],
                     ["demo", "--max-sequences", "64", "--no-progress", "--json", str(path)]):
            _one_line(capsys, argv, kind)
    assert _tree(tmp_path) == before
    if ROOT:
        assert stat.S_ISCHR((tmp_path / "dev").lstat().st_mode)
    # inspect writes PREFIX.png/.npz/.csv: a FIFO at one of them stops it before any is written
    os.mkfifo(tmp_path / "in.csv")
    _one_line(capsys, ["inspect", f, "--input", str(runs["series"]), "--out", str(tmp_path / "in")], "FIFO")
    assert not (tmp_path / "in.png").exists() and stat.S_ISFIFO((tmp_path / "in.csv").lstat().st_mode)
    # a regular file is what --out is for: it is replaced
    (tmp_path / "old.png").write_bytes(b"old")
    assert main(["plot", f, "--out", str(tmp_path / "old.png")]) == 0
    assert (tmp_path / "old.png").read_bytes()[:4] == b"\x89PNG"


def _train_argv(series, out, *extra):
    return [sys.executable, "-m", "lstmkit.cli", "train", "forecast", "--data", str(series), "--target", "y",
            "--window", "8", "--no-progress", "--quiet", "--hidden-size", "4", *(["--out", str(out)] if out else []),
            *extra]


def test_two_runs_never_share_a_run_directory(runs, tmp_path):
    # Same --out, started together: exactly one trains, the other is refused, and the directory is one run's.
    procs = [subprocess.Popen(_train_argv(runs["series"], tmp_path / "same", "--seed", str(s), "--epochs", "3"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, text=True)
             for s in (1, 2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert sorted(rc for rc, _ in results) == [0, 2], results
    assert "already exists" in [err for rc, err in results if rc == 2][0]
    seed = json.loads((tmp_path / "same" / "config.json").read_text())["seed"]
    winner = [s for s, (rc, _) in zip((1, 2), results) if rc == 0][0]
    assert seed == winner
    # The default name, three runs in the same second: three directories.
    work = tmp_path / "cwd"
    work.mkdir()
    procs = [subprocess.Popen(_train_argv(runs["series"], None, "--seed", str(s), "--epochs", "1"), cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV) for s in (1, 2, 3)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    made = sorted((work / "runs").iterdir())
    assert len(made) == 3
    assert sorted(json.loads((d / "config.json").read_text())["seed"] for d in made) == [1, 2, 3]


def test_run_creation_is_exclusive_even_inside_the_race_window(tmp_path, monkeypatch):
    # The subprocess test above depends on timing; here the second run starts deterministically while the
    # first is between making its directory and writing its files (where the old check-then-write let both in).
    import lstmkit.runs as R

    real = R.atomic_write_json
    made, errors = [], []

    def second_run_arrives(path, obj):
        monkeypatch.setattr(R, "atomic_write_json", real)
        try:
            made.append(R.Run.create(target(), {"task": "text", "seed": 2}, {}, **numbered).path)
        except ValueError as e:
            errors.append(str(e))
        real(path, obj)

    for numbered, target in (({}, lambda: tmp_path / "same"),
                             ({"numbered": True}, lambda: tmp_path / "runs" / "text-20261203-120000")):
        made.clear(), errors.clear()
        monkeypatch.setattr(R, "atomic_write_json", second_run_arrives)
        first = R.Run.create(target(), {"task": "text", "seed": 1}, {}, **numbered)
        first.close()
        if numbered:                               # the default name: a second directory, never the same one
            assert errors == [] and made == [first.path.with_name(first.path.name + "-2")]
            assert json.loads((made[0] / "config.json").read_text())["seed"] == 2
        else:                                      # the same --out: refused, and the directory is the first run's
            assert made == [] and "already exists" in errors[0]
        assert json.loads((first.path / "config.json").read_text())["seed"] == 1


def test_a_run_in_progress_is_locked_and_sigterm_cleans_up(runs, tmp_path, capsys):
    big = tmp_path / "big.csv"
    big.write_text("y\n" + "\n".join(f"{np.sin(i / 3):.5f}" for i in range(20_000)) + "\n")
    out = tmp_path / "long"
    proc = subprocess.Popen(_train_argv(big, out, "--epochs", "1000", "--patience", "0", "--hidden-size", "32"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").is_file():         # one epoch finished
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.01)
        _one_line(capsys, ["train", "--resume", str(out), "--no-progress"], "another lstmkit process")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert err.strip().splitlines() == [f"lstmkit: terminated; the last finished epoch is saved; continue with: "
                                        f"lstmkit train --resume {out}"]
    Run(out).load_checkpoint()                                    # the kept checkpoint is whole
    # SIGTERM before the first epoch finished: the half run is removed, so --out is free again.
    out2 = tmp_path / "early"
    proc = subprocess.Popen(_train_argv(big, out2, "--epochs", "1000", "--hidden-size", "256"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out2 / "run.json").is_file():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.005)
        assert not (out2 / "checkpoint.npz").exists(), "the first epoch finished too soon; make it longer"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert not out2.exists()


def test_a_failed_run_leaves_nothing_behind_and_out_stays_free(runs, tmp_path, capsys):
    out = tmp_path / "r"
    # A size the machine cannot hold is found before the directory is made ...
    _one_line(capsys, ["train", "forecast", "--data", str(runs["series"]), "--target", "y", "--out", str(out),
                       "--no-progress", "--hidden-size", "300000"], "memory")
    assert not out.exists()
    # ... and a failure inside training (an exploding gradient in the first epoch) removes what was made.
    _one_line(capsys, ["train", "forecast", "--data", str(runs["series"]), "--target", "y", "--window", "8",
                       "--out", str(out), "--grad-norm-limit", "1e-30", *Q], "exploded")
    assert not out.exists()
    assert main(["train", "forecast", "--data", str(runs["series"]), "--target", "y", "--window", "8",
                 "--out", str(out), *Q]) == 0


def test_reproduce_checks_out_before_the_first_trial(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "results.json").write_text('{"mine": true}\n')
    before = _tree(tmp_path)
    for out, words in ((tmp_path / "afile", "is a file"), (tmp_path / "afile" / "sub", "cannot write"),
                       (tmp_path / "theirs", "holds other things")):
        t0 = time.perf_counter()
        _one_line(capsys, ["reproduce", "4-1", "--quick", "--trials", "1", "--workers", "1", "--no-progress",
                           "--out", str(out)], words)
        assert time.perf_counter() - t0 < 20          # refused at once, not after a trial's compute
    assert _tree(tmp_path) == before
    _one_line(capsys, ["reproduce", "4-1", "--trials", str(10**8), "--out", str(tmp_path / "n")], "1..10000")
    assert not (tmp_path / "n").exists()


# ======================================================================================= sizes
def test_sizes_are_checked_before_allocating(runs, tmp_path, capsys):
    _one_line(capsys, ["train", "forecast", "--data", str(runs["series"]), "--target", "y", "--out",
                       str(tmp_path / "r"), "--no-progress", "--num-layers", "100000"], "num-layers")
    with pytest.raises(ValueError, match="needs about .* of memory"):
        lstmkit.LSTM(4, 1000, num_layers=1000)
    # a 1 MB deflated member that inflates to 1 GB
    np.savez_compressed(tmp_path / "bomb.npz", x=np.zeros(2**27), y=np.zeros(4))
    _one_line(capsys, ["train", "classify", "--data", str(tmp_path / "bomb.npz"), "--no-progress"],
              "decompression bomb")
    # a weights header claiming 10^12 elements, in a model directory that is otherwise whole
    _net().save(tmp_path / "m")
    with np.load(tmp_path / "m" / "weights.npz") as z:
        arrays = {k: z[k] for k in z.files}
    with zipfile.ZipFile(tmp_path / "m" / "weights.npz", "w") as z:
        for k, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a)
            data = buf.getvalue()
            if k == "rnn.l0.W":
                data = data.replace(repr(a.shape).encode(), b"(1000000000000,)".ljust(len(repr(a.shape))))
            z.writestr(k + ".npy", data)
    with pytest.raises(ValueError, match="claims|damaged"):
        lstmkit.load(tmp_path / "m")


# ======================================================================================= integrity
def test_a_model_without_its_checksum_is_refused_unless_asked(tmp_path):
    _net().save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    del cfg["sha256"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="no valid sha256"):
        lstmkit.load(tmp_path / "m")
    assert lstmkit.load(tmp_path / "m", verify=False).num_weights == _net().num_weights
    cfg["sha256"], cfg["num_weights"] = "0" * 64, 7
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="num_weights = 7"):
        lstmkit.load(tmp_path / "m", verify=False)


def _rehash(run: Path, edit) -> None:
    """Edit a checkpoint's metadata and recompute its checksum, as someone who read the format would."""
    from lstmkit.runs import _state_digest

    arrays, meta = Run(run).load_checkpoint()
    edit(meta)
    meta.pop("sha256", None)
    meta["sha256"] = _state_digest(arrays, meta)
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    (run / "checkpoint.npz").write_bytes(buf.getvalue())


@pytest.mark.parametrize("edit,words", [
    (lambda m: m["loop"].update(epoch=-7), "loop.epoch = -7"),
    (lambda m: m["loop"].update(epoch=5.5), "loop.epoch = 5.5"),
    (lambda m: m["loop"].update(best_epoch=9), "loop.best_epoch"),
    (lambda m: m["loop"].update(history=[]), "history"),
    (lambda m: m["loop"].pop("done"), "loop state"),
    (lambda m: m.update(rng={"bit_generator": "MT19937"}), "random-generator"),
    (lambda m: m["optimizer"].update(steps=-1), "optimiser"),
])
def test_checkpoint_metadata_is_validated_field_by_field(runs, tmp_path, capsys, edit, words):
    out = tmp_path / "r"
    assert main(["train", "forecast", "--data", str(runs["series"]), "--target", "y", "--window", "8",
                 "--out", str(out), "--no-progress", "--quiet", "--hidden-size", "4", "--epochs", "3"]) == 0
    (out / "summary.json").unlink()                     # pretend it was interrupted
    _rehash(out, edit)
    _one_line(capsys, ["train", "--resume", str(out), "--no-progress"], "checkpoint", words)


# ======================================================================================= tracebacks
def test_damaged_run_files_are_one_line_errors(runs, tmp_path, capsys):
    import shutil

    deep = "[" * 100_000 + "]" * 100_000
    for k, (name, content, command, words) in enumerate((
            ("data.json", json.dumps({"kind": "text"}), "generate", "'vocab'"),
            ("data.json", deep, "generate", "damaged"),
            ("run.json", deep, "generate", "damaged"),
            ("run.json", "[1, 2]", "plot", "damaged"),
            ("metrics.jsonl", "[1]\n{}\n", "plot", "line 1 is damaged"),
            ("checkpoint.npz", "PK\x03\x04 truncated", "resume", "damaged"),
            ("checkpoint.npz", "", "resume", "empty"),
            ("config.json", {"hidden_size": "8"}, "resume", "config.json is damaged|hidden_size expects int"),
            ("config.json", {"seq_len": [10]}, "resume", "config.json is damaged|seq_len"),
            ("config.json", {"horizon": 3}, "resume", "config.json is damaged|does not know (horizon)"))):
        run = tmp_path / f"t-{k}-{name}"
        shutil.copytree(runs["text"], run)
        if isinstance(content, dict):             # one edited field of the intact file
            content = json.dumps({**json.loads((run / name).read_text()), **content})
        (run / name).write_text(content)
        argv = {"generate": ["generate", str(run), "--length", "3"], "plot": ["plot", str(run)],
                "resume": ["train", "--resume", str(run), "--no-progress"]}[command]
        if command == "resume":
            (run / "summary.json").unlink()
        _one_line(capsys, argv, *words.split("|"))
    model = tmp_path / "m"
    _net().save(model)
    (model / "config.json").write_text(deep)
    with pytest.raises(ValueError, match="damaged"):
        lstmkit.load(model)


def test_damaged_inputs_name_what_they_are(runs, tmp_path, capsys):
    (tmp_path / "text.npz").write_text("id,label\n1,a\n")
    _one_line(capsys, ["train", "classify", "--data", str(tmp_path / "text.npz"), "--no-progress"], "a text file")
    np.savez(tmp_path / "zero.npz", x=np.zeros((4, 0, 2)), y=np.array([0, 1, 0, 1]))
    _one_line(capsys, ["train", "classify", "--data", str(tmp_path / "zero.npz"), "--no-progress"],
              "zero time steps")
    np.savez(tmp_path / "none.npz", x=np.zeros((0, 2)), lengths=np.zeros(0, dtype=int), y=np.zeros(0, dtype=int))
    _one_line(capsys, ["train", "classify", "--data", str(tmp_path / "none.npz"), "--no-progress"], "no sequences")
    (tmp_path / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    _one_line(capsys, ["train", "forecast", "--config", str(tmp_path / "deep.toml"), "--data", "x.csv"],
              f"--config: {tmp_path / 'deep.toml'} is nested too deeply")


def test_a_damaged_trial_file_is_run_again_with_a_warning(tmp_path, capsys):
    args = ["reproduce", "6a", "--quick", "--trials", "1", "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    assert main(args) == 0
    trial = tmp_path / "trials" / "6a" / "trial-0.json"
    good = json.loads(trial.read_text())
    for damaged in ("[1, 2]", json.dumps({**good, "sequences": -3}), "{" * 50_000):
        trial.write_text(damaged)
        with pytest.warns(UserWarning, match="damaged"):
            assert main(args) == 0
        assert json.loads(trial.read_text())["sequences"] == good["sequences"]
    capsys.readouterr()


def test_broken_pipe_is_one_line_and_no_traceback():
    r, w = os.pipe()
    os.close(r)                                           # the reader is gone before the first write: `| head -c 0`
    proc = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", "reproduce", "--list"], stdout=w,
                            stderr=subprocess.PIPE, env=ENV)
    os.close(w)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) != 0
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err


@pytest.mark.parametrize("exc,code,words", [
    (OSError(28, "No space left on device", "/data/x"), 2, "/data/x: No space left"),
    (PermissionError(13, "Permission denied", "/ro"), 2, "Permission denied"),
    (MemoryError(), 2, "out of memory"),
    (RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
    (KeyError("vocab"), 2, "'vocab' is missing"),
    (BrokenPipeError(32, "Broken pipe"), 1, "broken pipe"),
    (ZeroDivisionError("division by zero"), 1, "internal error: ZeroDivisionError"),
])
def test_every_kind_of_failure_becomes_one_line(exc, code, words):
    got, message = explain(exc)
    assert got == code and words in message and "\n" not in message


def test_write_section_replaces_only_its_section_and_refuses_what_it_must_not_replace(tmp_path):
    # What benchmarks/_results.py and examples/seq2seq_tasks.py write into RESULTS.md and docs/.
    from lstmkit._atomic import write_section

    f = tmp_path / "doc.md"
    f.write_text("intro\n<!-- t:begin -->\nold\n<!-- t:end -->\noutro\n")
    write_section(f, "t", "new\n")
    assert f.read_text() == "intro\n<!-- t:begin -->\nnew\n<!-- t:end -->\noutro\n"
    write_section(f, "u", "added")
    assert f.read_text().endswith("outro\n\n<!-- u:begin -->\nadded\n<!-- u:end -->\n")
    with pytest.raises(ValueError, match="no <!-- v:begin -->"):
        write_section(f, "v", "x", append=False)
    link = tmp_path / "link.md"
    link.symlink_to(f)
    with pytest.raises(ValueError):
        write_section(link, "t", "through a symlink")
    assert "new" in f.read_text() and link.is_symlink()
