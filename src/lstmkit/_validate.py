"""Input checks shared by every public entry point.

Each check raises TypeError (wrong kind of thing) or ValueError (right kind, wrong value) with one
sentence that names the argument, says what was expected, what came, and how to fix it.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

FLOAT_DTYPES = ("float32", "float64")


def dtype(name: str, value) -> np.dtype:
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.name not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected 'float32' or 'float64', got {value!r}; "
                        f"use float64 for gradient checks and the paper, float32 for speed")
    return dt


MAX_SIZE = 2**20   # no machine holds a layer of a million cells (4e12 weights); larger is a typo or damage
MAX_LAYERS = 1024  # published stacks have at most a few dozen layers; 10^5 would only exhaust memory and time


def available_memory() -> int:
    """Bytes of memory this process could still get (MemAvailable on Linux; free pages elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 1 << 62                     # unknown: do not refuse on a guess


def memory(name: str, nbytes: int, fix: str) -> None:
    """Refuse, before allocating, what would not fit in the memory still available.

    ``nbytes`` is the caller's estimate of what it is about to allocate; ``fix`` says what to change.
    A request beyond the memory left would end in a MemoryError deep inside NumPy, or in the kernel's
    OOM killer, after minutes of swapping; this says which argument asked for it.
    """
    avail = available_memory()
    if nbytes > avail:
        raise ValueError(f"{name}: needs about {format_bytes(nbytes)} of memory, but only {format_bytes(avail)} is "
                         f"available; {fix}")


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EB"  # pragma: no cover


def positive_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum}, got {value}")
    return int(value)


def positive_float(name: str, value, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a finite number {'>= 0' if allow_zero else '> 0'}, got {value}")
    return float(value)


def array(name: str, value, ndim: int | tuple[int, ...], dt: np.dtype | None = None,
          shape: dict[int, int] | None = None, finite: bool = True, layout: str = "",
          nonempty: bool = True) -> np.ndarray:
    """Convert ``value`` to a C-contiguous float array of the given rank and check it.

    ``shape`` maps axis -> required size; ``layout`` names the axes for messages, e.g. "(T, B, I)".
    Integer, boolean, complex and object arrays are refused rather than silently converted.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected an array {layout}, got {type(value).__name__}")
    a = np.asarray(value)
    if a.dtype.kind not in "f":
        hint = "cast it with .astype(float)" if a.dtype.kind in "iub" else "pass real floating-point numbers"
        raise TypeError(f"{name}: expected a floating-point array {layout}, got dtype {a.dtype}; {hint}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in ndims:
        want = " or ".join(str(n) for n in ndims)
        raise ValueError(f"{name}: expected {want} dimensions {layout}, got shape {a.shape}")
    for axis, size in (shape or {}).items():
        if a.shape[axis] != size:
            raise ValueError(f"{name}: expected size {size} on axis {axis} {layout}, got shape {a.shape}")
    if nonempty and 0 in a.shape:
        raise ValueError(f"{name}: got an empty array of shape {a.shape}; every axis {layout} needs size >= 1")
    if finite and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name}: contains NaN or Inf (first at index {tuple(int(i) for i in bad)}); "
                         f"clean or impute the data first")
    return np.ascontiguousarray(a, dtype=dt if dt is not None else a.dtype)


def lengths(name: str, value, T: int, B: int) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "iu" or a.shape != (B,):
        raise ValueError(f"{name}: expected {B} integer lengths (one per sequence), got {a.dtype} array of shape {a.shape}")
    if a.min() < 1 or a.max() > T:
        raise ValueError(f"{name}: expected lengths in [1, {T}] (T = number of steps), got min {a.min()}, max {a.max()}; "
                         f"drop empty sequences or pad x to the longest one")
    return a.astype(np.int64)


def prefix_mask(name: str, value, T: int, B: int) -> np.ndarray:
    """Check a (T, B) bool mask whose True entries form a prefix per sequence; return the lengths."""
    m = np.asarray(value)
    if m.shape != (T, B):
        raise ValueError(f"{name}: expected shape (T, B) = ({T}, {B}), got {m.shape}")
    if m.dtype != np.bool_:
        if m.dtype.kind in "iuf" and np.isin(m, (0, 1)).all():
            m = m.astype(bool)
        else:
            raise TypeError(f"{name}: expected a boolean mask, got dtype {m.dtype}")
    n = m.sum(axis=0)
    ok = (np.arange(T)[:, None] < n[None, :]) == m
    if not ok.all():
        b = int(np.argwhere(~ok.all(axis=0))[0][0])
        raise ValueError(f"{name}: sequence {b} has gaps; a mask must be True for the first length[b] steps "
                         f"and False after (pass lengths= instead, or left-align the sequences)")
    return lengths(name, n, T, B)
