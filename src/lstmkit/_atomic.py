"""Crash-safe writes: a file or directory is either the old one or the complete new one, never half.

Write to a temporary name in the same directory, fsync it, ``os.replace`` it over the target (atomic
on POSIX), then fsync the directory so that the rename itself survives a power cut. Used by model
files (io.py), run directories (runs.py) and reproduction trials (experiments/runner.py).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes, make_parents: bool = False) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror or e} (in {path.parent}); check the path and its "
                         f"permissions") from None
    try:
        os.fchmod(fd, 0o644)                 # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    """``atomic_write_bytes`` of UTF-8 text, creating missing parent directories."""
    atomic_write_bytes(path, text.encode("utf-8"), make_parents=True)


def atomic_write_dir(path, write) -> None:
    """Create directory ``path`` by calling ``write(tmpdir)`` then renaming; replaces an old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        write(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
