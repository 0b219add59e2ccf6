"""Crash-safe writes that never destroy what lstmkit did not write.

A file or directory is either the old one or the complete new one, never half: write to a temporary
name in the same directory, fsync it, rename it over the target (atomic on POSIX), then fsync the
directory so that the rename itself survives a power cut. Used by model files (io.py), run directories
(runs.py), reproduction trials (experiments/runner.py) and every ``--out`` of the CLI.

What may be replaced is checked first, on the path itself (``lstat``: a symlink is never followed):

* a file is written only over a **regular file** or a new path. A device, FIFO, socket, directory or
  symlink at the target is refused: ``os.replace`` would turn ``/dev/full`` into a regular file, or
  replace a symlink the user keeps pointing elsewhere;
* a directory is replaced only when ``owned(path)`` says it is one lstmkit wrote (the model directory's
  marker and files), or it is empty. Its old contents are then removed name by name (never ``rmtree``),
  so a file someone put there in the meantime stops the removal instead of vanishing with it.

New files and directories get the permissions the umask allows (0644 and 0755 under the usual 022),
not ``mkstemp``'s private 0600/0700: models and results are meant to be shared.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "symlink"), (stat.S_ISDIR, "directory"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO (named pipe)"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def check_file_target(path, what: str = "") -> os.stat_result | None:
    """Refuse a target that is not a regular file or a new path; return its lstat (None if new)."""
    path = Path(path)
    st = _lstat(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{what or 'write'}: {path} is a {_kind(st.st_mode)}; lstmkit writes only to a regular file "
                         f"or a new path and leaves this one as it is; give a file name")
    return st


def _private_error(path: Path, e: OSError) -> ValueError:
    return ValueError(f"cannot write {path}: {e.strerror or e} (in {path.parent}); check the path and its "
                      f"permissions")


def atomic_write_bytes(path, data: bytes, make_parents: bool = False, what: str = "",
                       replace: bool = True) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    An existing regular file keeps its permission bits; anything else at ``path`` is refused.
    ``replace=False`` writes only a new path: the finished temporary file is hard-linked to ``path``,
    which fails if anything appeared there meanwhile (where hard links are unsupported: a rename after
    a last check).
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    old = check_file_target(path, what)
    if old is not None and not replace:
        raise ValueError(f"{what or 'write'}: {path} already exists; lstmkit does not replace it here")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError as e:
        raise _private_error(path, e) from None
    try:
        os.fchmod(fd, stat.S_IMODE(old.st_mode) if old is not None else 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            check_file_target(path, what)    # again: the write may have taken a while
            os.replace(tmp, path)
        else:
            _link_new(tmp, path, what)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _link_new(tmp: str, path: Path, what: str) -> None:
    """Give the finished file ``tmp`` the name ``path`` only if nothing is there; ``tmp`` is removed."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ValueError(f"{what or 'write'}: {path} appeared while writing (someone else made it); "
                         f"it is left as it is") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(path):             # no hard links on this file system: check, then rename
            raise ValueError(f"{what or 'write'}: {path} appeared while writing (someone else made it); "
                             f"it is left as it is") from None
        os.rename(tmp, path)
        return
    os.unlink(tmp)


def atomic_write_text(path, text: str, what: str = "") -> None:
    """``atomic_write_bytes`` of UTF-8 text, creating missing parent directories."""
    atomic_write_bytes(path, text.encode("utf-8"), make_parents=True, what=what)


# ------------------------------------------------------------------------------------ directories
_RENAME_EXCHANGE = 2


def write_section(path, name: str, text: str, append: bool = True) -> Path:
    """Replace the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` of ``path``, atomically.

    The rest of the file is kept. Without the markers the section is appended (``append=False``: a
    ValueError asking for them). What benchmarks and examples write into RESULTS.md and the docs.
    """
    path = Path(path)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text.strip(chr(10))}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end):]
    elif append:
        new = old.rstrip("\n") + ("\n\n" if old else "") + block + "\n"
    else:
        raise ValueError(f"{path} has no {begin} ... {end} markers; add them where the section belongs")
    atomic_write_text(path, new, what=str(path))
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD = -100
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False                              # old kernel or a file system without exchange
    raise OSError(err, os.strerror(err), str(b))


def remove_owned_dir(path: Path, names: set[str]) -> bool:
    """Remove the files ``names`` (those that exist) from ``path``, then ``path`` itself.

    Returns False, leaving the directory, when it holds anything else: only what lstmkit wrote goes.
    """
    for name in names:
        f = path / name
        st = _lstat(f)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            f.unlink()
    try:
        path.rmdir()
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True


def atomic_write_dir(path, write: Callable[[Path], None], owned: Callable[[Path], set[str] | None],
                     what: str = "") -> None:
    """Create or replace directory ``path`` with what ``write(tmpdir)`` puts in a fresh directory.

    ``owned(path)`` returns the names of the files an existing directory at ``path`` may hold for
    lstmkit to replace it (after checking its marker), or None when it is not such a directory. An
    empty directory is replaced too; anything else (a file, a symlink, a directory of other things)
    is refused before anything is written. The swap is one atomic exchange where the kernel offers
    it; elsewhere the old directory is renamed aside first (a crash between the two renames leaves
    it at ``.NAME.old-PID``, complete).
    """
    path = Path(path)
    what = what or "save"
    st = _lstat(path)
    old_names: set[str] = set()
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise ValueError(f"{what}: {path} is a {_kind(st.st_mode)}; lstmkit writes a model only to a new path "
                             f"or over a model directory it wrote, and leaves this one as it is")
        names = owned(path)
        if names is None and any(path.iterdir()):
            listing = sorted(p.name for p in path.iterdir())
            shown = ", ".join(listing[:5]) + (f" and {len(listing) - 5} more" if len(listing) > 5 else "")
            raise ValueError(f"{what}: {path} exists and is not an lstmkit model directory (it holds {shown}); "
                             f"lstmkit replaces only a directory it wrote; choose a new path")
        old_names = names or set()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    except OSError as e:
        raise _private_error(path, e) from None
    swapped = False
    try:
        os.chmod(tmp, 0o777 & ~umask())
        write(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        if st is None:
            os.rename(tmp, path)                  # fails, rather than merging, if someone filled it meanwhile
            swapped = True
            fsync_dir(path.parent)
            return
        if _exchange(tmp, path):
            retired = tmp                         # the exchange left the old directory at the temporary name
        else:
            retired = path.parent / f".{path.name}.old-{os.getpid()}"
            os.rename(path, retired)
            try:
                os.rename(tmp, path)
            except BaseException:
                os.rename(retired, path)          # put the old one back
                raise
        swapped = True
        fsync_dir(path.parent)
    except BaseException:
        if not swapped:
            remove_owned_dir(tmp, {f.name for f in tmp.iterdir()})
        raise
    if not remove_owned_dir(retired, old_names):
        import warnings

        warnings.warn(f"{what}: the previous {path.name} was kept at {retired}: files were added to it while "
                      f"saving, and lstmkit removes only what it wrote", stacklevel=2)
