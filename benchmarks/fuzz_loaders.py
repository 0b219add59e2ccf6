"""Fuzz lstmkit's file loaders for a few minutes: every input must load or fail cleanly.

    python benchmarks/fuzz_loaders.py --minutes 3 [--seed 0]

Mutation fuzzing from valid seeds (a forecast CSV with dates, a long-format sequence CSV, a sequence .npz,
a text corpus, a TOML config, and the two files of a saved model directory, config.json and weights.npz,
read by ``lstmkit.load``): each round takes a seed file and applies 1-8 random edits (flip, insert,
delete or duplicate bytes; replace a cell with a random token such as "nan", "1e309", "", "-", "2020-13-01";
truncate; splice two seeds), writes it, and calls the loader the CLI calls for that kind of file. A
"clean" outcome is a return or one of the errors the CLI prints as one line (ValueError, TypeError,
FileNotFoundError) with a one-line message; anything else is a finding, saved (with its traceback)
under ``--findings`` (default: a folder in the temporary directory). Prints the counts at the end (docs/USAGE.md records a run).
"""
from __future__ import annotations

import argparse
import io
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

import lstmkit
from lstmkit.data.sequences import load_sequences
from lstmkit.data.series import load_series
from lstmkit.data.text import load_corpus
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
    global MODEL
    MODEL = model
    return {"model/config.json": model["config.json"], "model/weights.npz": model["weights.npz"],
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
PER_INPUT_SECONDS = 10


class Hang(Exception):
    """Raised by the alarm when one input takes longer than PER_INPUT_SECONDS."""


def _alarm(signum, frame):
    raise Hang(f"loader still running after {PER_INPUT_SECONDS} s")


def load(kind: str, path: Path) -> None:
    if kind.startswith("model/"):
        # The mutated file sits beside an intact copy of the model's other file.
        other = "weights.npz" if kind.endswith("config.json") else "config.json"
        (path.parent / other).write_bytes(MODEL[other])
        lstmkit.load(path.parent)
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
    a = ap.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(a.seed)
    base = seeds()
    pool = list(base.values())
    kinds = list(base)
    counts = {k: {"ok": 0, "clean error": 0, "finding": 0} for k in kinds}
    findings_dir = Path(a.findings)
    end = time.monotonic() + 60 * a.minutes
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < end:
            kind = kinds[n % len(kinds)]
            data = mutate(base[kind], rng, pool)
            path = Path(tmp) / kind
            path.parent.mkdir(exist_ok=True)
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
            except Exception:  # noqa: BLE001 - that is what we are looking for
                counts[kind]["finding"] += 1
                _save(findings_dir, n, kind, data, traceback.format_exc())
            finally:
                signal.alarm(0)
    total = {k: sum(c[k] for c in counts.values()) for k in ("ok", "clean error", "finding")}
    print(f"{n} inputs in {a.minutes:g} min (seed {a.seed}): {total['ok']} loaded, {total['clean error']} clean "
          f"one-line errors, {total['finding']} findings")
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
