"""Saving and loading networks: a directory with ``config.json`` and ``weights.npz``.

``config.json`` holds ``{"format": "lstmkit-model", "format_version": 1, "model": <module config>,
"num_weights": W, "sha256": <hash of the weight bytes>}``; ``weights.npz`` holds every named parameter
array. Its ``format`` field is the marker of a model directory: ``save`` replaces an existing
directory only when it holds that marker and nothing but these two files (or nothing at all), and
refuses any other path that exists (a file, a symlink, the working directory). Writing goes to a
temporary sibling directory, fsyncs, then swaps it into place atomically (``_atomic.atomic_write_dir``),
so a crash never leaves a half-written model where a good one was.

Loading trusts nothing in the directory: every metadata field is checked, the weight count the config
describes is compared with what the archive's headers claim before anything is allocated, names and
shapes must match, and the SHA-256 must be present and match (``verify=False`` skips the hash, for a
model whose config was edited by hand on purpose).
"""
from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import numpy as np

from . import _npz
from ._atomic import atomic_write_dir

FORMAT = "lstmkit-model"
FORMAT_VERSION = 1
FILES = {"config.json", "weights.npz"}          # all a model directory holds


def _builders():
    from .network import LSTM, Network, Readout

    def lstm(c):
        c = dict(c)
        c.pop("type")
        return LSTM(**c)

    def readout(c):
        c = dict(c)
        c.pop("type")
        return Readout(**c)

    def network(c):
        return Network(build(c["rnn"]), build(c["readout"]), c.get("input_shortcut", False))

    return {"LSTM": lstm, "Readout": readout, "Network": network}


def build(config: dict):
    """A fresh module (newly initialised weights) from a module config."""
    kind = config.get("type") if isinstance(config, dict) else None
    builders = _builders()
    if kind not in builders:
        raise ValueError(f"model config: unknown module type {kind!r}; expected one of {', '.join(builders)}")
    return builders[kind](config)


def expected_weights(config: dict, limit: int | None = None) -> int:
    """Number of weights a module config describes, computed from shapes alone (nothing allocated).

    ``load`` compares it with the weights file before building, so a damaged config that asks for an
    enormous network is refused instead of exhausting memory. Counting stops once it passes ``limit``
    (a config may claim 10^40 layers).
    """
    from math import prod

    from . import _validate as V
    from .cells import get_cell

    kind = config.get("type")
    if kind == "Readout":
        o = V.positive_int("out_features", config["out_features"], maximum=V.MAX_SIZE)
        f = V.positive_int("in_features", config["in_features"], maximum=V.MAX_SIZE)
        return o * f + (o if config.get("bias", True) else 0)
    if kind == "Network":
        return expected_weights(config["rnn"], limit) + expected_weights(config["readout"], limit)
    if kind == "LSTM":
        known = {"type", "input_size", "hidden_size", "num_layers", "bidirectional", "batch_first", "cell", "dtype", "seed"}
        opts = {k: v for k, v in config.items() if k not in known}
        cls = get_cell(config.get("cell", "lstm"))
        D = 2 if config.get("bidirectional") else 1
        total, in_size = 0, config["input_size"]
        for _ in range(V.positive_int("num_layers", config.get("num_layers", 1))):
            cell = cls(in_size, config["hidden_size"], **opts)
            total += D * sum(prod(s) for s in cell.param_shapes().values())
            in_size = D * cell.output_size
            if limit is not None and total > limit:
                break
        return total
    raise ValueError(f"model config: unknown module type {kind!r}")


def _digest(flat: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(flat).tobytes()).hexdigest()


def is_model_dir(path) -> bool:
    """True when ``path`` is a directory of lstmkit's: a marker in config.json and only the model's files."""
    return any(_owned(Path(path), fmt) is not None for fmt in MODEL_FORMATS)


# Model kinds on disk, by the marker in config.json -> the loader (the same layout and checks for each).
MODEL_FORMATS = {FORMAT: "lstmkit.io", "lstmkit-seq2seq": "lstmkit.seq2seq.saving"}


def _owned(path: Path, fmt: str = FORMAT) -> set[str] | None:
    try:
        entries = list(path.iterdir())
    except OSError:
        return None
    if not entries or {e.name for e in entries} - FILES:
        return None
    if any(not stat.S_ISREG(e.lstat().st_mode) for e in entries):
        return None
    try:
        meta = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return FILES if isinstance(meta, dict) and meta.get("format") == fmt else None


def save(module, path, fmt: str = FORMAT) -> None:
    """Write ``module`` (LSTM, Readout or Network; a Seq2Seq with its ``fmt``) to the directory ``path``.

    ``path`` must be new, an empty directory, or a model directory of the same ``fmt`` written by
    ``save`` (replaced atomically); anything else is refused and left as it is.
    """
    meta = {"format": fmt, "format_version": FORMAT_VERSION, "model": module.config(),
            "num_weights": int(module.num_weights), "sha256": _digest(module.flat)}

    def write(tmp: Path):
        with open(tmp / "weights.npz", "wb") as fh:
            np.savez(fh, **{k: v for k, v in module.params.items()})
        (tmp / "config.json").write_text(json.dumps(meta, indent=2) + "\n")

    atomic_write_dir(path, write, lambda p: _owned(p, fmt), what="save")


def damaged(cfg_file: Path, why: str) -> ValueError:
    return ValueError(f"load: {cfg_file} {why}; the model directory is damaged (save the model again)")


def read_config(path, verify: bool = True, fmt: str | None = None) -> tuple[dict, Path]:
    """``(meta, its path)``: a model directory's config.json with every field checked.

    ``fmt`` is the marker the caller reads (None: any of ``MODEL_FORMATS``).
    """
    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"load: {path} is not a saved lstmkit model (no config.json inside); "
                                f"pass the directory written by net.save(path)")
    try:
        meta = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise damaged(cfg_file, f"is not valid JSON ({type(e).__name__}: {str(e)[:80]})") from None
    got = meta.get("format") if isinstance(meta, dict) else None
    if got not in ((fmt,) if fmt else MODEL_FORMATS):
        raise ValueError(f"load: {cfg_file} is not an lstmkit model config of format {fmt or FORMAT!r} "
                         f"(found {got!r})" + ("; lstmkit.load reads it" if got in MODEL_FORMATS else ""))
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"load: {path} has model format version {meta.get('format_version')!r}; this lstmkit "
                         f"reads version {FORMAT_VERSION}; use the lstmkit release that wrote it")
    unknown = sorted(set(meta) - {"format", "format_version", "model", "num_weights", "sha256"})
    if unknown:
        raise damaged(cfg_file, f"has fields this lstmkit does not know ({', '.join(unknown)})")
    digest = meta.get("sha256")
    if verify and not (isinstance(digest, str) and len(digest) == 64):
        raise damaged(cfg_file, "has no valid sha256 of the weights, so they cannot be verified (pass "
                                 "verify=False to load a config edited by hand on purpose)")
    if not isinstance(meta.get("model"), dict):
        raise damaged(cfg_file, f"has no model config (found {type(meta.get('model')).__name__})")
    return meta, cfg_file


def read_spec(path, cfg_file: Path) -> dict:
    """weights.npz's member headers {name: (shape, dtype)}, read before a byte is decompressed."""
    try:
        return _npz.headers(Path(path) / "weights.npz")
    except FileNotFoundError:
        raise damaged(cfg_file, "has no weights.npz beside it") from None
    except _npz.NpzError as e:
        raise ValueError(f"load: {e}; the model directory is damaged") from None


def fill(module, path, spec: dict, digest, verify: bool):
    """Check ``spec`` against ``module``'s parameters, read the weights into it, verify the SHA-256."""
    if set(spec) != set(module.params):
        missing = sorted(set(module.params) - set(spec))
        extra = sorted(set(spec) - set(module.params))
        raise ValueError(f"load: weights.npz does not match the config (missing {missing}, unexpected {extra})")
    for k, (shape, dtype) in spec.items():
        if shape != module.params[k].shape:
            raise ValueError(f"load: weight {k!r} has shape {shape}, the config expects {module.params[k].shape}")
        if dtype.kind != "f":
            raise ValueError(f"load: weight {k!r} has dtype {dtype}; expected floating point; the model "
                             f"directory is damaged")
    try:
        arrays = _npz.read(Path(path) / "weights.npz", max_bytes=module.num_weights * 8, spec=spec)
    except _npz.NpzError as e:
        raise ValueError(f"load: {e}; the model directory is damaged") from None
    for k, a in arrays.items():
        module.params[k][...] = a
    if verify and _digest(module.flat) != digest:
        raise ValueError(f"load: checksum mismatch in {path}; the weights were changed or damaged after saving")
    return module


def load(path, verify: bool = True):
    """Read a model written by :func:`save` (or ``net.save``, or a Seq2Seq's); returns the module.

    ``verify=False`` accepts a config without (or with a stale) ``sha256``, for a config edited by
    hand on purpose; names, shapes and sizes are checked either way.
    """
    meta, cfg_file = read_config(path, verify)
    if meta["format"] != FORMAT:
        import importlib

        return importlib.import_module(MODEL_FORMATS[meta["format"]]).from_config(meta, path, cfg_file, verify)
    model = meta["model"]
    spec = read_spec(path, cfg_file)
    stored = sum(int(np.prod(shape)) for shape, _ in spec.values())
    try:
        wanted = expected_weights(model, limit=stored)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        # A config that parses as JSON but lacks a field or has one of the wrong kind (or 1e999).
        raise damaged(cfg_file, f"has a damaged model config ({type(e).__name__}: {e})") from None
    if wanted != stored:
        # Checked on the headers, before building or reading: a damaged file must not allocate anything big.
        raise damaged(cfg_file, f"describes {wanted} weights but weights.npz claims {stored}")
    if meta.get("num_weights") != stored:
        raise damaged(cfg_file, f"says num_weights = {meta.get('num_weights')!r}, the config and weights "
                                 f"describe {stored}")
    try:
        module = build(model)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise damaged(cfg_file, f"has a damaged model config ({type(e).__name__}: {e})") from None
    return fill(module, path, spec, meta.get("sha256"), verify)
