"""Saving and loading networks: a directory with ``config.json`` and ``weights.npz``.

``config.json`` holds ``{"format": "lstmkit-model", "format_version": 1, "model": <module config>,
"sha256": <hash of the weight bytes>}``; ``weights.npz`` holds every named parameter array. Writing
goes to a temporary sibling directory, fsyncs, then renames into place, so a crash never leaves a
half-written model where a good one was. Loading rebuilds the module from its config, checks names,
shapes and the checksum, and refuses other formats or versions with a message that says which.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from ._atomic import atomic_write_dir

FORMAT = "lstmkit-model"
FORMAT_VERSION = 1


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


def save(module, path) -> None:
    """Write ``module`` (LSTM, Readout or Network) to the directory ``path``."""
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": module.config(),
            "num_weights": int(module.num_weights), "sha256": _digest(module.flat)}

    def write(tmp: Path):
        with open(tmp / "weights.npz", "wb") as fh:
            np.savez(fh, **{k: v for k, v in module.params.items()})
        (tmp / "config.json").write_text(json.dumps(meta, indent=2) + "\n")

    atomic_write_dir(path, write)


def load(path):
    """Read a model written by :func:`save` (or ``net.save``); returns the module."""
    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"load: {path} is not a saved lstmkit model (no config.json inside); "
                                f"pass the directory written by net.save(path)")
    try:
        meta = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"load: {cfg_file} is not valid JSON ({e}); the model directory is damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"load: {cfg_file} is not an lstmkit model config (expected format {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"load: {path} has model format version {meta.get('format_version')!r}; this lstmkit "
                         f"reads version {FORMAT_VERSION}; use the lstmkit release that wrote it")
    try:
        with np.load(path / "weights.npz", allow_pickle=False) as w:
            arrays = {k: w[k] for k in w.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
        raise ValueError(f"load: cannot read {path / 'weights.npz'} ({e}); the model directory is damaged") from None
    stored = sum(a.size for a in arrays.values())
    try:
        wanted = expected_weights(meta.get("model"), limit=stored)
        if wanted != stored:
            # Checked before building: a damaged config must not allocate an arbitrary network.
            raise ValueError(f"load: the config in {cfg_file} describes {wanted} weights but weights.npz holds "
                             f"{stored}; the model directory is damaged")
        module = build(meta.get("model"))
    except (KeyError, TypeError, AttributeError, OverflowError) as e:
        # A config that parses as JSON but lacks a field or has one of the wrong kind (or 1e999).
        raise ValueError(f"load: the model config in {cfg_file} is damaged ({type(e).__name__}: {e}); "
                         f"save the model again") from None
    if set(arrays) != set(module.params):
        missing = sorted(set(module.params) - set(arrays))
        extra = sorted(set(arrays) - set(module.params))
        raise ValueError(f"load: weights.npz does not match the config (missing {missing}, unexpected {extra})")
    for k, a in arrays.items():
        if a.shape != module.params[k].shape:
            raise ValueError(f"load: weight {k!r} has shape {a.shape}, the config expects {module.params[k].shape}")
        module.params[k][...] = a
    if "sha256" in meta and _digest(module.flat) != meta["sha256"]:
        raise ValueError(f"load: checksum mismatch in {path}; the weights were changed or damaged after saving")
    return module
