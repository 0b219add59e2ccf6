"""Reading ``.npz`` archives without trusting them: no pickles, no allocation a header merely claims.

``np.load`` of an archive allocates what each member's header says before reading a byte of data, so a
1.9 MB deflated file can ask for 2 GB, and a damaged header for 10^12 elements. Here every member's
header is read first (zip directory, ``.npy`` magic, shape and dtype); the archive is refused when a
member holds Python objects (pickles), when the sizes the headers claim add up to more than the
caller's limit or the memory available, and only then are the arrays read, by NumPy.

Two checks need the zip directory beside the headers. A header may not claim more bytes than its
member holds uncompressed (a damaged header asking for 10^12 elements would otherwise be allocated
before the short read fails). And a member larger than ``BOMB_BYTES`` that inflates more than
``BOMB_RATIO`` times is refused as a decompression bomb: deflate's limit is about 1030:1, which only
near-constant bytes reach, and near-constant data is nothing to train on. Data that is meant to be
like that can be stored uncompressed (``np.savez`` rather than ``np.savez_compressed``).
"""
from __future__ import annotations

import zipfile
from math import prod
from pathlib import Path

import numpy as np

from . import _validate as V

ZIP_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"
MAX_MEMBERS = 10_000       # an archive of lstmkit's has a few dozen arrays at most
BOMB_BYTES = 64 << 20      # members smaller than this are read whatever their ratio
BOMB_RATIO = 200


class NpzError(ValueError):
    """An archive that cannot be read as claimed (the CLI prints it in one line)."""


def _what_it_is(head: bytes) -> str:
    if head.startswith(NPY_MAGIC):
        return "a single .npy array (np.save), not an .npz archive (np.savez)"
    if not head:
        return "empty"
    try:
        head.decode("utf-8")
        return f"a text file (it starts with {head[:24].decode('utf-8', 'replace')!r})"
    except UnicodeDecodeError:
        return f"not a zip archive (it starts with bytes {head[:8]!r})"


def headers(path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{name: (shape, dtype)}`` of every member, read from the headers alone."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head.startswith(ZIP_MAGIC):
        raise NpzError(f"{path} is {_what_it_is(head)}; expected a NumPy .npz archive written by np.savez")
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS:
                raise NpzError(f"{path} has {len(members)} members; an .npz of arrays has far fewer")
            for info in members:
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with z.open(info) as fp:
                    if fp.read(len(NPY_MAGIC)) != NPY_MAGIC:
                        raise NpzError(f"member {info.filename!r} of {path} is not a .npy array")
                    major = fp.read(2)[:1]
                    reader = {b"\x01": np.lib.format.read_array_header_1_0,
                              b"\x02": np.lib.format.read_array_header_2_0,
                              b"\x03": np.lib.format.read_array_header_2_0}.get(major)
                    if reader is None:
                        raise NpzError(f"member {info.filename!r} of {path} has an unknown .npy version")
                    shape, _, dtype = reader(fp)
                if dtype.hasobject:
                    raise NpzError(f"member {name!r} of {path} holds Python objects (pickled data), which lstmkit "
                                   f"never loads; store numbers or strings")
                shape = tuple(int(d) for d in shape)
                claimed = prod(shape) * dtype.itemsize
                if claimed > info.file_size:
                    raise NpzError(f"member {name!r} of {path} claims {V.format_bytes(claimed)} (shape {shape}, "
                                   f"{dtype}) but holds {V.format_bytes(info.file_size)}; the archive is damaged")
                if info.file_size > BOMB_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
                    ratio = info.file_size // max(info.compress_size, 1)
                    raise NpzError(f"member {name!r} of {path} inflates from {V.format_bytes(info.compress_size)} to "
                                   f"{V.format_bytes(info.file_size)} ({ratio}:1), "
                                   f"which only near-constant data does; lstmkit refuses it as a decompression "
                                   f"bomb (save real data of this kind with np.savez, uncompressed)")
                out[name] = (shape, dtype)
    except NpzError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged zip raises BadZipFile, EOFError, OSError, ValueError, ...
        raise NpzError(f"{path} is a damaged .npz archive ({type(e).__name__}: {e})") from None
    return out


def nbytes(spec: dict[str, tuple[tuple[int, ...], np.dtype]]) -> int:
    return sum(prod(shape) * dtype.itemsize for shape, dtype in spec.values())


def read(path, max_bytes: int | None = None, fix: str = "", copies: int = 1,
         spec: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None) -> dict[str, np.ndarray]:
    """Every array of the archive, after checking its headers (see the module docstring).

    ``max_bytes``: the most the caller can have a use for (e.g. the weights a config describes);
    the memory available is always a limit, for ``copies`` times the arrays (a caller that converts
    them to float64 and splits them needs more than one). ``spec``: the ``headers(path)`` the caller
    has already read and checked.
    """
    path = Path(path)
    spec = headers(path) if spec is None else spec
    claimed = nbytes(spec)
    if max_bytes is not None and claimed > max_bytes:
        raise NpzError(f"{path}: its arrays claim {V.format_bytes(claimed)}, more than the {V.format_bytes(max_bytes)} "
                       f"expected; {fix or 'the file is damaged'}")
    try:
        V.memory(str(path), claimed * copies, fix or "the file is damaged or too large for this machine")
    except ValueError as e:
        raise NpzError(str(e)) from None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - as above; headers passed, so the data itself is damaged
        raise NpzError(f"{path} is a damaged .npz archive ({type(e).__name__}: {e})") from None
