"""Fuzz lstmkit's file loaders for a few minutes: every input must load or fail cleanly.

    python benchmarks/fuzz_loaders.py --minutes 3 [--seed 0] [--kinds run/,trial.json]

Mutation fuzzing from valid seeds: a forecast CSV with dates, a long-format sequence CSV, a sequence .npz,
a text corpus, a TOML config; the two files of a saved model directory (config.json and weights.npz,
read by ``lstmkit.load``); every file of a run directory of ``lstmkit train`` (run.json, config.json,
data.json, metrics.jsonl, checkpoint.npz: read by ``lstmkit train --resume`` and ``lstmkit generate``,
through the CLI); and a trial record of ``lstmkit reproduce`` (read when a run resumes). Each round takes
a seed file and applies 1-8 random edits (flip, insert, delete or duplicate bytes; replace a cell with a
random token such as "nan", "1e309", "", "-", "2020-13-01"; truncate; splice two seeds), writes it beside
intact copies of its directory's other files, and calls what the CLI calls for that kind of file.

A "clean" outcome is a return or one of the errors the CLI prints as one line (ValueError, TypeError,
FileNotFoundError) with a one-line message; for the CLI kinds, exit status 0 or 2 with at most one line
on stderr. Files that carry a checksum must also not load *wrong*: a mutated model that loads must compute
what the intact one computes on a fixed input (bit for bit), and a run resumed from a mutated checkpoint
must end with the intact run's final weights; otherwise it is a silent wrong result, also a finding.
Anything else is a finding (a traceback, the CLI's "internal error", a hang over 10 s), saved
with its traceback under ``--findings`` (default: a folder in the temporary directory). Prints the counts
at the end (docs/USAGE.md records a run).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

import lstmkit
from lstmkit.data.sequences import load_sequences
from lstmkit.data.series import load_series
from lstmkit.cli import main as cli
from lstmkit.data.text import load_corpus
from lstmkit.experiments import EXPERIMENTS
from lstmkit.experiments.runner import load_trial, run as run_rows
from lstmkit.runs import Run
from lstmkit.training import config as C

CLEAN = (ValueError, TypeError, FileNotFoundError)
TOKENS = [b"nan", b"NaN", b"1e309", b"-inf", b"", b"-", b"?", b"2020-13-01", b"2020-02-30", b"1,2", b'"', b"\n",
          b"\x00", b"\xff\xfe", b"id", b"label", b"date", b";", b"\t", b"1" * 40, b"-0", b"0x10", b"\xc3\xa9"]


def seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    t = np.arange(40)
    forecast = "date,y,x2\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{10 + np.sin(i):.3f},{i * 0.1:.2f}\n"
                                       for i in t)
    seq = "id,time,f1,f2,label\n" + "".join(f"s{i // 5},{i % 5},{rng.normal():.3f},{rng.normal():.3f},{'ab'[i // 5 % 2]}\n"
                                            for i in range(40))
    buf = io.BytesIO()
    np.savez(buf, x=rng.normal(size=(20, 2)), lengths=np.array([5, 5, 4, 6]), y=np.array([0, 1, 0, 1]))
    with tempfile.TemporaryDirectory() as tmp:
        net = lstmkit.Network(lstmkit.LSTM(2, 3, num_layers=2, seed=0), lstmkit.Readout(3, 1, "logistic", seed=1))
        net.save(Path(tmp) / "m")
        model = {name: (Path(tmp) / "m" / name).read_bytes() for name in ("config.json", "weights.npz")}
    global MODEL, MODEL_OUT, RUN, TRIAL
    MODEL = model
    MODEL_OUT = net.forward(PROBE)[0]
    RUN = _seed_run()
    TRIAL = _seed_trial()
    return {**{f"run/{name}": data for name, data in RUN.items() if name != "corpus.txt"},
            "trial.json": TRIAL,
            "model/config.json": model["config.json"], "model/weights.npz": model["weights.npz"],
            "forecast.csv": forecast.encode(), "seq.csv": seq.encode(), "seq.npz": buf.getvalue(),
            "corpus.txt": ("to be or not to be, that is the question\n" * 5).encode(),
            "config.toml": b'target = "y"\nwindow = 12\nhidden_size = 8\n[cell_options]\nforget_bias = 1.0\n'}


def mutate(data: bytes, rng: np.random.Generator, pool: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        op = int(rng.integers(0, 7))
        pos = int(rng.integers(0, len(b) + 1)) if b else 0
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = int(rng.integers(0, 256))
        elif op == 1:
            b[pos:pos] = TOKENS[int(rng.integers(len(TOKENS)))]
        elif op == 2 and b:
            del b[pos : pos + int(rng.integers(1, 16))]
        elif op == 3 and b:
            n = int(rng.integers(1, 32))
            b[pos:pos] = b[pos : pos + n]
        elif op == 4 and b:                                   # replace one CSV cell with a token
            text = bytes(b).split(b",")
            k = int(rng.integers(len(text)))
            text[k] = TOKENS[int(rng.integers(len(TOKENS)))]
            b = bytearray(b",".join(text))
        elif op == 5 and b:
            del b[int(rng.integers(0, len(b))) :]
        else:
            other = pool[int(rng.integers(len(pool)))]
            b = b[:pos] + bytearray(other[int(rng.integers(0, len(other) + 1)) :])
    return bytes(b)


MODEL: dict[str, bytes] = {}
MODEL_OUT = np.zeros(0)            # the intact model's output on PROBE
PROBE = np.random.default_rng(1).normal(size=(7, 3, 2))
RUN: dict[str, bytes] = {}         # the files of a finished text run, and its corpus
RUN_FINAL = np.zeros(0)            # that run's final weights (what a resume from its checkpoint must end with)
TRIAL = b""
TRIAL_ROW = "4-1"
PER_INPUT_SECONDS = 10


def _quiet_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = cli(argv)
    return rc, err.getvalue()


def _seed_run() -> dict[str, bytes]:
    """A text run of two epochs (tiny net), as --resume finds it after a crash: no summary, no model."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("to be or not to be, that is the question\n" * 20)
        out = Path(tmp) / "run"
        rc, err = _quiet_cli(["train", "text", "--data", str(corpus), "--out", str(out), "--hidden-size", "4",
                              "--epochs", "2", "--batch-size", "2", "--seq-len", "8", "--no-progress", "--quiet"])
        assert rc == 0, err
        global RUN_FINAL
        RUN_FINAL = lstmkit.load(out / "model").flat.copy()
        return {name: (out / name).read_bytes() for name in ("run.json", "config.json", "data.json",
                                                               "metrics.jsonl", "checkpoint.npz")} | \
            {"corpus.txt": corpus.read_bytes()}


def _seed_trial() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        run_rows([EXPERIMENTS[TRIAL_ROW]], tmp, trials=1, quick=True, workers=1, progress=False)
        return (Path(tmp) / "trials" / TRIAL_ROW / "trial-0.json").read_bytes()


class CliFinding(Exception):
    """The CLI ended with a status other than 0 or 2, or printed more than one line."""


class SilentWrong(Exception):
    """A mutated file with a checksum loaded and gave a different model: the worst outcome."""


class Hang(Exception):
    """Raised by the alarm when one input takes longer than PER_INPUT_SECONDS."""


def _alarm(signum, frame):
    raise Hang(f"loader still running after {PER_INPUT_SECONDS} s")


def load(kind: str, path: Path) -> None:
    if kind.startswith("run/"):
        # The mutated file in a copy of the run; the corpus where its config says (rewritten to this copy).
        run = path.parent
        corpus = run.parent / "corpus.txt"
        corpus.write_bytes(RUN["corpus.txt"])
        for name, data in RUN.items():
            if name != "corpus.txt" and name != kind[4:]:
                (run / name).write_bytes(data)
        for stale in ("summary.json", "model", ".lock"):
            target = run / stale
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        if kind == "run/metrics.jsonl":
            Run(run).metrics()                    # what lstmkit plot reads (--resume rewrites the file)
            return
        refused = []
        for argv in (["train", "--resume", str(run), "--no-progress", "--quiet"],
                     ["generate", str(run), "--length", "3"]):
            rc, err = _quiet_cli(argv)
            if rc not in (0, 2) or len(err.strip().splitlines()) > 1:
                raise CliFinding(f"{' '.join(argv[:2])}: exit {rc}: {err.strip()}")
            if rc == 2:
                refused.append(err.strip())
            elif argv[0] == "train" and kind == "run/checkpoint.npz":
                final = lstmkit.load(run / "model").flat
                if not np.array_equal(final, RUN_FINAL):
                    raise SilentWrong("train --resume from a mutated checkpoint ended with other weights")
        if refused:
            raise ValueError(refused[0])          # counted as a clean error: the CLI said what was wrong
    elif kind == "trial.json":
        load_trial(path.parent.parent.parent, EXPERIMENTS[TRIAL_ROW].effective(True), 0, 0)
    elif kind.startswith("model/"):
        # The mutated file sits beside an intact copy of the model's other file.
        other = "weights.npz" if kind.endswith("config.json") else "config.json"
        (path.parent / other).write_bytes(MODEL[other])
        out = lstmkit.load(path.parent).forward(PROBE)[0]
        if out.dtype != MODEL_OUT.dtype or not np.array_equal(out, MODEL_OUT):
            raise SilentWrong("a mutated model loaded and computes something else on the probe input")
    elif kind == "forecast.csv":
        load_series(path, "y", ["x2"], None)
    elif kind == "seq.csv" or kind == "seq.npz":
        load_sequences(path)
    elif kind == "corpus.txt":
        load_corpus(path)
    else:
        C.resolve("forecast", C.read_toml(path), {"data": str(path)})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--findings", default=str(Path(tempfile.gettempdir()) / "lstmkit-fuzz-findings"),
                    help="where inputs that failed are saved (with their tracebacks)")
    ap.add_argument("--kinds", default="", help="only the seed kinds starting with one of these, comma-separated")
    a = ap.parse_args()
    warnings.simplefilter("ignore")          # a warning (a damaged trial is run again, ...) is not a finding
    signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(a.seed)
    base = seeds()
    if a.kinds:
        base = {k: v for k, v in base.items() if any(k.startswith(p) for p in a.kinds.split(","))}
    pool = list(base.values())
    kinds = list(base)
    counts = {k: {"ok": 0, "clean error": 0, "finding": 0, "silent wrong": 0} for k in kinds}
    findings_dir = Path(a.findings)
    end = time.monotonic() + 60 * a.minutes
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        cfg = json.loads(RUN["config.json"])      # the run's data file: where the mutated copies will find it
        cfg["data"] = str(Path(tmp) / "corpus.txt")
        RUN["config.json"] = (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode()
        if "run/config.json" in base:
            base["run/config.json"] = RUN["config.json"]
        for kind in kinds:                        # control: every intact seed loads, and loads right
            path = Path(tmp) / ("reproduce/trials/" + TRIAL_ROW + "/trial-0.json" if kind == "trial.json" else kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base[kind])
            load(kind, path)
        while time.monotonic() < end:
            kind = kinds[n % len(kinds)]
            data = mutate(base[kind], rng, pool)
            path = Path(tmp) / ("reproduce/trials/" + TRIAL_ROW + "/trial-0.json" if kind == "trial.json" else kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            n += 1
            signal.alarm(PER_INPUT_SECONDS)   # a loader that hangs on an input is a finding too
            try:
                load(kind, path)
                counts[kind]["ok"] += 1
            except CLEAN as e:
                msg = str(e)
                if msg and "\n" not in msg.strip():
                    counts[kind]["clean error"] += 1
                    continue
                counts[kind]["finding"] += 1
                _save(findings_dir, n, kind, data, f"multi-line or empty message: {msg!r}")
            except SilentWrong as e:
                counts[kind]["finding"] += 1
                counts[kind]["silent wrong"] += 1
                _save(findings_dir, n, kind, data, f"silent wrong result: {e}")
            except Exception:  # noqa: BLE001 - that is what we are looking for
                counts[kind]["finding"] += 1
                _save(findings_dir, n, kind, data, traceback.format_exc())
            finally:
                signal.alarm(0)
    total = {k: sum(c[k] for c in counts.values()) for k in ("ok", "clean error", "finding", "silent wrong")}
    print(f"{n} inputs in {a.minutes:g} min (seed {a.seed}): {total['ok']} loaded, {total['clean error']} clean "
          f"one-line errors, {total['finding']} findings ({total['silent wrong']} of them silent wrong results)")
    for k, c in counts.items():
        print(f"  {k:<13} {c}")
    return 1 if total["finding"] else 0


def _save(root: Path, n: int, kind: str, data: bytes, what: str) -> None:
    root.mkdir(exist_ok=True)
    name = kind.replace("/", "-")
    (root / f"{n:07d}-{name}").write_bytes(data)
    (root / f"{n:07d}-{name}.txt").write_text(what)
    print(f"finding {n} ({kind}): {what.strip().splitlines()[-1]}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
