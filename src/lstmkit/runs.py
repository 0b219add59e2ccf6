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
      .lock            held (flock) by the process training in the directory

The directory is created exclusively (``os.mkdir``: an existing path is refused, never merged into),
and a process that trains in it holds ``.lock`` for the whole run, so two ``train`` commands can
never write into one directory, whether both start it or one resumes what the other runs. A run
that fails before its first finished epoch removes what it wrote (only that, name by name).

A checkpoint is written after each epoch; the previous one stays intact until the new one has been
renamed over it, so ``kill -9`` at any moment leaves the last finished epoch. Everything an epoch
does is a function of that state, so ``--resume`` reproduces the uninterrupted run bit for bit.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from . import _npz
from ._atomic import atomic_write_bytes, remove_owned_dir

FORMAT = "lstmkit-run"
FORMAT_VERSION = 1
CHECKPOINT = "checkpoint.npz"
LOCK = ".lock"
FILES = {"run.json", "config.json", "data.json", "metrics.jsonl", CHECKPOINT, "summary.json", LOCK}


def atomic_write_json(path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_json(path, what: str, kind: type | None = dict):
    """The JSON document in ``path``; ``kind`` (default dict) is the type its top level must have."""
    try:
        obj = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"{what}: {path} is damaged (not valid JSON: {type(e).__name__}: {str(e)[:80]})") from None
    if kind is not None and not isinstance(obj, kind):
        raise ValueError(f"{what}: {path} is damaged (expected a JSON {'object' if kind is dict else kind.__name__}, "
                         f"got {type(obj).__name__})")
    return obj


# ------------------------------------------------------------------------------------ the directory
class Run:
    """An open run directory (``lock()`` it before writing into it)."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock_fd: int | None = None

    # ---------------------------------------------------------------- create / open
    @classmethod
    def create(cls, path, config: dict, data_state: dict, numbered: bool = False) -> "Run":
        """Make a new run directory and lock it; an existing path is refused.

        ``numbered=True`` (the default name) takes ``path``, else ``path-2``, ``path-3``, ...: whichever
        ``os.mkdir`` creates first, so two runs started in the same second never share a directory.
        """
        from . import __version__

        p = Path(path)
        if not numbered:
            cls.check_new(p)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"--out: cannot create the run directory {p}: {e.strerror or e}") from None
        base, n = p, 1
        while True:
            try:
                os.mkdir(p)
                break
            except FileExistsError:
                if not numbered:
                    raise ValueError(f"--out: {p} was created by someone else just now; choose another --out") from None
                n += 1
                p = base.with_name(f"{base.name}-{n}")
            except OSError as e:
                raise ValueError(f"--out: cannot create the run directory {p}: {e.strerror or e}") from None
        run = cls(p)
        try:
            run.lock()
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
        if os.path.lexists(p):
            hint = (f"continue it with --resume {p}, or choose another --out" if (p / "run.json").is_file()
                    else "lstmkit creates the run directory itself; choose a new --out")
            raise ValueError(f"--out: {p} already exists; {hint}")

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
        if meta.get("format") != FORMAT:
            raise ValueError(f"{what}: {meta_file} is not an lstmkit run description (expected format {FORMAT!r})")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{what}: {p} has run format version {meta.get('format_version')!r}; this lstmkit "
                             f"reads version {FORMAT_VERSION}; use the lstmkit release that wrote it")
        if meta.get("task") not in DATA_FIELDS:
            raise ValueError(f"{what}: {meta_file} is damaged (task {meta.get('task')!r}; expected one of "
                             f"{', '.join(DATA_FIELDS)})")
        return cls(p)

    def lock(self) -> None:
        """Hold ``.lock`` until ``close()`` or the process ends (kill -9 included: the kernel drops it)."""
        import fcntl

        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise ValueError(f"RUN_DIR: another lstmkit process is training in {self.path}; wait for it to "
                                 f"finish (or stop it) before resuming") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def remove(self) -> None:
        """Delete a run directory that never finished an epoch: only the files a run writes, then the directory."""
        from .io import FILES as MODEL_FILES

        self.close()
        model = self.path / "model"
        if model.is_dir() and not model.is_symlink():
            remove_owned_dir(model, MODEL_FILES)
        remove_owned_dir(self.path, FILES)

    # ---------------------------------------------------------------- pieces
    @property
    def task(self) -> str:
        return read_json(self.path / "run.json", "run")["task"]

    def config(self) -> dict:
        return read_json(self.path / "config.json", "run config")

    def data_state(self) -> dict:
        """data.json, checked to hold what the run's task needs to read new data (``DATA_FIELDS``)."""
        f = self.path / "data.json"
        state = read_json(f, "run data state")
        for key, kind in DATA_FIELDS[self.task].items():
            if not isinstance(state.get(key), kind):
                got = "nothing" if key not in state else type(state[key]).__name__
                raise ValueError(f"RUN_DIR: {f} is damaged: it needs {key!r} ({kind.__name__}), found {got}; "
                                 f"the run cannot read new data without it")
        if "vocab" in DATA_FIELDS[self.task]:
            v = state["vocab"]
            if not v or not all(isinstance(c, str) and len(c) == 1 for c in v) or len(set(v)) != len(v):
                raise ValueError(f"RUN_DIR: {f} is damaged: 'vocab' must be distinct single characters")
        if "scaler" in DATA_FIELDS[self.task]:
            from .data.scaling import Scaler

            try:
                Scaler.from_dict(state["scaler"])
            except ValueError as e:
                raise ValueError(f"RUN_DIR: {f} is damaged: {e}") from None
        return state

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
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError
            except (ValueError, RecursionError):
                if i != len(lines) - 1:
                    raise ValueError(f"metrics: {f} line {i + 1} is damaged (expected one JSON object per "
                                     f"line)") from None
                continue
            out.append(rec)
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

    def load_checkpoint(self, max_bytes: int | None = None) -> tuple[dict[str, np.ndarray], dict]:
        """The arrays and metadata of the checkpoint, checksum verified (the caller checks their meaning).

        ``max_bytes``: what a checkpoint of this run can hold at most; the headers are checked against
        it before anything is read.
        """
        f = self.path / CHECKPOINT
        try:
            arrays = _npz.read(f, max_bytes=max_bytes, fix="the checkpoint is damaged")
        except FileNotFoundError:
            raise FileNotFoundError(f"--resume: {self.path} has no checkpoint yet") from None
        except _npz.NpzError as e:
            raise ValueError(f"--resume: {e}") from None
        meta_arr = arrays.pop("__meta__", None)
        try:
            if meta_arr is None or meta_arr.dtype.kind != "U" or meta_arr.ndim != 0:
                raise ValueError
            meta = json.loads(str(meta_arr))
            if not isinstance(meta, dict):
                raise ValueError
        except (ValueError, RecursionError):
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


def default_run_dir(task: str) -> Path:
    """runs/<task>-<YYYYmmdd-HHMMSS> under the current directory; ``Run.create(..., numbered=True)``
    appends -2, -3, ... if that exists."""
    import time

    return Path("runs") / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


# What data.json must hold for a task's model to read new data (generate, inspect, predict).
DATA_FIELDS: dict[str, dict[str, type]] = {
    "text": {"vocab": list},
    "forecast": {"scaler": dict, "columns": list},
    "classify": {"scaler": dict, "features": list, "classes": list},
    "seq2seq": {"tokens": str},                 # the vocabularies live in the model
}
