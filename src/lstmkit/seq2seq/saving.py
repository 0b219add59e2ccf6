"""A sequence-to-sequence model on disk: a directory with ``config.json`` and ``weights.npz``.

The layout is lstmkit's model directory (``lstmkit.io``) with its own marker::

    config.json   {"format": "lstmkit-seq2seq", "format_version": 1, "model": <Seq2Seq.config()>,
                   "num_weights": W, "sha256": <hash of the weight bytes>}
                  the model config holds both vocabularies, so the model reads and writes symbols alone
    weights.npz   every named parameter array (np.savez, uncompressed)

Writing is ``lstmkit.io.save`` with this marker (a temporary sibling, fsync, an atomic swap; only a
directory with this marker holding nothing but these two files is replaced); ``lstmkit.load`` reads
either kind. Loading checks every
field: the options are checked by ``Seq2Seq`` itself (sizes under their limits, memory available)
before a weight is read; names and shapes must match the archive's headers, and the SHA-256 must match.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import _npz
from .. import io as _io

FORMAT = "lstmkit-seq2seq"
FORMAT_VERSION = _io.FORMAT_VERSION
_META = {"format", "format_version", "model", "num_weights", "sha256"}


def save(model, path) -> None:
    """Write ``model`` (a Seq2Seq) to the directory ``path`` (new, empty, or one this function wrote)."""
    _io.save(model, path, FORMAT)


def _damaged(f: Path, why: str) -> ValueError:
    return ValueError(f"load: {f} {why}; the model directory is damaged (save the model again)")


def load(path, verify: bool = True):
    """The Seq2Seq saved in ``path``; ``verify=False`` skips the SHA-256 (names and shapes are checked)."""
    from .model import Seq2Seq
    from .vocabulary import Vocabulary

    path = Path(path)
    f = path / "config.json"
    if not f.is_file():
        raise FileNotFoundError(f"load: {path} is not a saved lstmkit model (no config.json inside); pass the "
                                f"directory written by model.save(path)")
    try:
        meta = json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise _damaged(f, f"is not valid JSON ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"load: {f} is not a sequence-to-sequence model (format {got!r}, expected {FORMAT!r})"
                         + ("; load it with lstmkit.load" if got == "lstmkit-model" else ""))
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"load: {path} has format version {meta.get('format_version')!r}; this lstmkit reads "
                         f"version {FORMAT_VERSION}; use the lstmkit release that wrote it")
    if set(meta) != _META:
        raise _damaged(f, f"has the fields {sorted(meta)}, expected {sorted(_META)}")
    if verify and not (isinstance(meta["sha256"], str) and len(meta["sha256"]) == 64):
        raise _damaged(f, "has no valid sha256 of the weights (verify=False loads it unchecked)")
    cfg = meta["model"]
    if not isinstance(cfg, dict) or cfg.get("type") != "Seq2Seq":
        raise _damaged(f, "has no Seq2Seq model config")
    cfg = dict(cfg)
    try:
        cfg.pop("type")
        src, tgt = Vocabulary.from_list(cfg.pop("source_vocab")), Vocabulary.from_list(cfg.pop("target_vocab"))
        model = Seq2Seq(src, tgt, **cfg)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise _damaged(f, f"has a damaged model config ({type(e).__name__}: {e})") from None
    try:
        spec = _npz.headers(path / "weights.npz")
    except FileNotFoundError:
        raise _damaged(f, "has no weights.npz beside it") from None
    except _npz.NpzError as e:
        raise ValueError(f"load: {e}; the model directory is damaged") from None
    want = {k: v.shape for k, v in model.params.items()}
    got = {k: shape for k, (shape, _) in spec.items()}
    if want != got or meta["num_weights"] != model.num_weights:
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        raise _damaged(f, f"does not match weights.npz (missing {missing}, unexpected {extra}, or other shapes)")
    if any(dtype.kind != "f" for _, dtype in spec.values()):
        raise _damaged(f, "has weights that are not floating point")
    try:
        arrays = _npz.read(path / "weights.npz", max_bytes=model.num_weights * 8, spec=spec)
    except _npz.NpzError as e:
        raise ValueError(f"load: {e}; the model directory is damaged") from None
    for k, a in arrays.items():
        model.params[k][...] = a
    if verify and _io._digest(model.flat) != meta["sha256"]:
        raise ValueError(f"load: checksum mismatch in {path}; the weights were changed or damaged after saving")
    return model
