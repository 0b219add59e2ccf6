"""One place that decides how kernels are compiled.

``cache=True`` writes compiled machine code next to the sources (or in NUMBA_CACHE_DIR) so that the
first call of a later process does not compile again. ``fastmath`` is off: gradient checks in float64
need IEEE semantics. ``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python (slow, same results).

Where the cache goes. Numba picks the place when a function is *decorated*, that is at import: the
first usable of NUMBA_CACHE_DIR, the source's ``__pycache__`` and the user-wide cache under HOME
(``numba/core/caching.py``, ``CacheImpl._locator_classes``); "usable" means it can create the directory
and a file in it. When none is (a container with an arbitrary UID over a read-only install and HOME),
Numba raises "cannot cache function ...: no locator available", and ``import lstmkit`` would fail.
Then lstmkit caches into a directory of its own under ``tempfile.gettempdir()`` (one per uid, mode
0700), and compiles without a cache when that is not safe to use either, or when NUMBA_CACHE_DIR was
set explicitly (the user chose the place; lstmkit puts no files elsewhere). One
:class:`NumbaCacheWarning` per process says where the kernels went and why.
"""
from __future__ import annotations

import inspect
import os
import stat
import tempfile
import warnings

import numba


class NumbaCacheWarning(UserWarning):
    """Compiled kernels are cached in a temporary directory, or not at all (filterable by this category)."""


_fallback: tuple[str | None, str] | None = None   # (cache directory or None, why), decided on first need
_warned = False


def njit(*args, **kwargs):
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)
    if args and callable(args[0]) and len(args) == 1:
        return _decorate(args[0], kwargs)
    if args:                                  # an explicit signature: compiled eagerly, as numba.njit does
        return lambda func: _decorate(func, kwargs, args)
    return lambda func: _decorate(func, kwargs)


def _decorate(func, kwargs: dict, args: tuple = ()):
    global _fallback
    try:
        return numba.njit(*args, **kwargs)(func)
    except RuntimeError as e:
        if not kwargs["cache"] or "no locator available" not in str(e):
            raise
    cache_dir, why = _fallback_dir(func)
    if cache_dir is not None:
        saved = numba.config.CACHE_DIR        # read only while a function is decorated (UserProvidedCacheLocator)
        numba.config.CACHE_DIR = cache_dir
        try:
            kernel = numba.njit(*args, **kwargs)(func)
        except RuntimeError as e:
            if "no locator available" not in str(e):
                raise
            kernel = None
        finally:
            numba.config.CACHE_DIR = saved
        if kernel is not None:
            _warn_once(f"{why}; caching them in {cache_dir} instead (set NUMBA_CACHE_DIR to a writable "
                       f"directory to choose the place)")
            return kernel
        why = f"{why}, nor to {cache_dir}"
        _fallback = (None, why)
    _warn_once(f"{why}; compiling them without a cache, so every new process compiles the kernels it uses "
               f"again (set NUMBA_CACHE_DIR to a writable directory to keep them)")
    return numba.njit(*args, **{**kwargs, "cache": False})(func)


def _fallback_dir(func) -> tuple[str | None, str]:
    """The temporary cache directory (or None) and a sentence saying why the usual places failed.

    The directory is ``<tempdir>/lstmkit-numba-<uid>``, created with mode 0700. An existing one is used
    only if it is a real directory (not a symlink) owned by this uid that no one else can write to: a
    cache holds pickled code that the next process loads, so a directory someone else planted or can
    write to would run their code.
    """
    global _fallback
    if _fallback is not None:
        return _fallback
    explicit = numba.config.CACHE_DIR
    if explicit:
        _fallback = (None, f"Numba cannot write compiled kernels to NUMBA_CACHE_DIR={explicit}, "
                           f"nor next to lstmkit's sources or under HOME")
        return _fallback
    from numba.misc.appdirs import AppDirs

    source = os.path.join(os.path.dirname(inspect.getfile(func)), "__pycache__")
    user = AppDirs(appname="numba", appauthor=False).user_cache_dir
    why = f"Numba cannot write compiled kernels next to lstmkit's sources ({source}) or under HOME ({user})"
    uid = os.getuid() if hasattr(os, "getuid") else None      # Windows: the temp directory is per user
    try:
        path = os.path.join(tempfile.gettempdir(), "lstmkit-numba" if uid is None else f"lstmkit-numba-{uid}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(path)
    except OSError as e:
        _fallback = (None, f"{why}, nor a temporary directory ({e})")
        return _fallback
    if not stat.S_ISDIR(st.st_mode):
        problem = "is a symlink" if stat.S_ISLNK(st.st_mode) else "is not a directory"
    elif uid is not None and st.st_uid != uid:
        problem = f"belongs to uid {st.st_uid}, not to this process's uid {uid}"
    elif uid is not None and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
    else:
        _fallback = (path, why)
        return _fallback
    _fallback = (None, f"{why}, and {path} {problem}, so it is not used")
    return _fallback


def _warn_once(message: str) -> None:
    # One line: a location of "lstmkit:0" has no source line for Python to print under the message.
    global _warned
    if not _warned:
        _warned = True
        warnings.warn_explicit(message, NumbaCacheWarning, "lstmkit", 0, module="lstmkit._numba")


def cache_location() -> str:
    """Where the compiled kernels go: a directory, or why there is none (for messages and ``lstmkit warmup``).

    Read off one kernel's cache (Numba's per-source choice; lstmkit's kernels share one rule).
    """
    from .cells import lstm_fast

    if numba.config.DISABLE_JIT:
        return "none (NUMBA_DISABLE_JIT=1: plain Python, nothing compiled)"
    cache = getattr(lstm_fast._forward_rows, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    if path:
        return str(path)
    if _fallback is not None and _fallback[0] is None:
        return f"none ({_fallback[1]})"
    return "none (compiled in memory only)"
