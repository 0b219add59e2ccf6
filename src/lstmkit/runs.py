"""Run directories: what one ``lstmkit train`` writes, how it survives a crash, how it resumes.

Layout (every file is written whole: temporary file, fsync, rename, fsync of the directory)::

    RUN_DIR/
      run.json         {"format": "lstmkit-run", "format_version": 1, "task": ..., "lstmkit": version}
      config.json      the resolved training config (all ``--resume`` needs)
      data.json        what the model needs besides weights: scaler, vocabulary, classes, columns, ...
                       and the SHA-256 of the data file(s), so a resume on changed data is refused
      metrics.jsonl    one JSON object per finished epoch (appended; rewritten from the checkpoint on resume)
      checkpoint.npz   the state after the last finished epoch: weights, best weights, optimiser state,
                       RNG state, early-stopping counters, the metrics history; a SHA-256 over all of it
      model/           the final model (the best epoch's weights), loadable with ``lstmkit.load``
      summary.json     final validation metrics and the baselines' (keys: docs/USAGE.md)

A checkpoint is written after each epoch; the previous one stays intact until the new one has been
renamed over it, so ``kill -9`` at any moment leaves the last finished epoch. Everything an epoch
does is a function of that state, so ``--resume`` reproduces the uninterrupted run bit for bit.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ._atomic import atomic_write_bytes

FORMAT = "lstmkit-run"
FORMAT_VERSION = 1
CHECKPOINT = "checkpoint.npz"


def atomic_write_json(path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_json(path, what: str):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{what}: {path} is damaged (not valid JSON: {e})") from None


# ------------------------------------------------------------------------------------ the directory
class Run:
    """An open run directory."""

    def __init__(self, path):
        self.path = Path(path)

    # ---------------------------------------------------------------- create / open
    @classmethod
    def create(cls, path, config: dict, data_state: dict) -> "Run":
        """Make a new run directory; refuses one that exists and is not empty."""
        from . import __version__

        p = Path(path)
        cls.check_new(p)
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"--out: cannot create the run directory {p}: {e.strerror or e}") from None
        run = cls(p)
        try:
            atomic_write_json(p / "config.json", config)
            atomic_write_json(p / "data.json", data_state)
            (p / "metrics.jsonl").touch()
            # run.json last: a directory without it is not a run (a crash here leaves no half run)
            atomic_write_json(p / "run.json", {"format": FORMAT, "format_version": FORMAT_VERSION,
                                               "task": config["task"], "lstmkit": __version__})
        except BaseException:
            run.remove()
            raise
        return run

    @staticmethod
    def check_new(path) -> None:
        p = Path(path)
        if p.exists() and (not p.is_dir() or any(p.iterdir())):
            raise ValueError(f"--out: {p} already exists and is not empty; continue it with "
                             f"--resume {p}, or choose another --out")

    @classmethod
    def open(cls, path, what: str = "RUN_DIR") -> "Run":
        """An existing run directory; errors say what is wrong with it."""
        p = Path(path)
        if not p.is_dir():
            raise FileNotFoundError(f"{what}: {p} is not a directory; pass a run directory written by lstmkit train")
        meta_file = p / "run.json"
        if not meta_file.is_file():
            raise ValueError(f"{what}: {p} is not an lstmkit run directory (no run.json); pass the --out "
                             f"directory of lstmkit train")
        meta = read_json(meta_file, what)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{what}: {meta_file} is not an lstmkit run description (expected format {FORMAT!r})")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{what}: {p} has run format version {meta.get('format_version')!r}; this lstmkit "
                             f"reads version {FORMAT_VERSION}; use the lstmkit release that wrote it")
        return cls(p)

    def remove(self) -> None:
        """Delete a run directory that never finished an epoch (nothing worth keeping in it)."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)

    # ---------------------------------------------------------------- pieces
    @property
    def task(self) -> str:
        return read_json(self.path / "run.json", "run")["task"]

    def config(self) -> dict:
        return read_json(self.path / "config.json", "run config")

    def data_state(self) -> dict:
        return read_json(self.path / "data.json", "run data state")

    def model(self):
        from .io import load

        if not (self.path / "model").is_dir():
            raise ValueError(f"RUN_DIR: {self.path} has no final model yet (training did not finish); "
                             f"finish it with lstmkit train --resume {self.path}")
        return load(self.path / "model")

    def save_model(self, net) -> None:
        net.save(self.path / "model")

    def write_summary(self, summary: dict) -> None:
        atomic_write_json(self.path / "summary.json", summary)

    def summary(self) -> dict | None:
        f = self.path / "summary.json"
        return read_json(f, "summary") if f.is_file() else None

    # ---------------------------------------------------------------- metrics
    def append_metrics(self, record: dict) -> None:
        with open(self.path / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def rewrite_metrics(self, history: list[dict]) -> None:
        atomic_write_bytes(self.path / "metrics.jsonl",
                           "".join(json.dumps(r, sort_keys=True) + "\n" for r in history).encode())

    def metrics(self) -> list[dict]:
        """The metrics log; a torn last line (a crash while appending) is skipped."""
        f = self.path / "metrics.jsonl"
        if not f.is_file():
            return []
        out = []
        lines = f.read_text().splitlines()
        for i, line in enumerate(lines):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                if i != len(lines) - 1:
                    raise ValueError(f"metrics: {f} line {i + 1} is damaged") from None
        return out

    # ---------------------------------------------------------------- checkpoints
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT).is_file()

    def save_checkpoint(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Write the state atomically with a SHA-256 over the arrays' bytes and the metadata."""
        import io

        meta = dict(meta)
        meta["sha256"] = _state_digest(arrays, meta)
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)
        atomic_write_bytes(self.path / CHECKPOINT, buf.getvalue())

    def load_checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        f = self.path / CHECKPOINT
        try:
            with np.load(f, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise FileNotFoundError(f"--resume: {self.path} has no checkpoint yet") from None
        except Exception as e:  # a damaged zip can raise many kinds of error
            raise ValueError(f"--resume: {f} is damaged ({type(e).__name__}: {e})") from None
        try:
            meta = json.loads(str(arrays.pop("__meta__")))
        except (KeyError, json.JSONDecodeError):
            raise ValueError(f"--resume: {f} has no readable metadata; it is damaged") from None
        want = meta.pop("sha256", None)
        if want != _state_digest(arrays, meta):
            raise ValueError(f"--resume: {f} fails its checksum; it is damaged")
        return arrays, meta


def _state_digest(arrays: dict[str, np.ndarray], meta: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    return h.hexdigest()


@contextlib.contextmanager
def os_errors_as_value_errors():
    """Disk full, permission denied, ...: one line for the CLI (which prints ValueError in one line)."""
    try:
        yield
    except FileNotFoundError:
        raise
    except BrokenPipeError:
        raise ValueError("the output was closed before lstmkit finished writing to it (broken pipe)") from None
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        raise ValueError(f"cannot read or write {where}{e.strerror or e}; check the path, its permissions "
                         f"and the free disk space") from None


def default_run_dir(task: str) -> Path:
    """runs/<task>-<YYYYmmdd-HHMMSS>[-n] under the current directory."""
    import time

    base = Path("runs") / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    p, n = base, 1
    while p.exists():
        n += 1
        p = base.with_name(f"{base.name}-{n}")
    return p
