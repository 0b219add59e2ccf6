"""A sequence-to-sequence model on disk: a directory with ``config.json`` and ``weights.npz``.

The layout is lstmkit's model directory (``lstmkit.io``) with its own marker::

    config.json   {"format": "lstmkit-seq2seq", "format_version": 1, "model": <Seq2Seq.config()>,
                   "num_weights": W, "sha256": <hash of the weight bytes>}
                  the model config holds both vocabularies, so the model reads and writes symbols alone
    weights.npz   every named parameter array (np.savez, uncompressed)

Writing is ``lstmkit.io.save`` with this marker (a temporary sibling, fsync, an atomic swap; only a
directory with this marker holding nothing but these two files is replaced); ``lstmkit.load`` reads
either kind. Loading shares ``lstmkit.io``'s checks of config.json, of the archive's headers and of the
SHA-256; the options are checked by ``Seq2Seq`` itself (sizes under their limits, memory available)
before a weight is read.
"""
from __future__ import annotations

from pathlib import Path

from .. import io as _io

FORMAT = "lstmkit-seq2seq"
FORMAT_VERSION = _io.FORMAT_VERSION


def save(model, path) -> None:
    """Write ``model`` (a Seq2Seq) to the directory ``path`` (new, empty, or one this function wrote)."""
    _io.save(model, path, FORMAT)


def load(path, verify: bool = True):
    """The Seq2Seq saved in ``path``; ``verify=False`` skips the SHA-256 (names and shapes are checked)."""
    meta, cfg_file = _io.read_config(path, verify, FORMAT)
    return from_config(meta, path, cfg_file, verify)


def from_config(meta: dict, path, cfg_file: Path, verify: bool = True):
    """The Seq2Seq of a checked config.json (``lstmkit.io.read_config``), its weights read from ``path``."""
    from .model import Seq2Seq
    from .vocabulary import Vocabulary

    cfg = dict(meta["model"])
    if cfg.pop("type", None) != "Seq2Seq":
        raise _io.damaged(cfg_file, "has no Seq2Seq model config")
    try:
        src, tgt = Vocabulary.from_list(cfg.pop("source_vocab")), Vocabulary.from_list(cfg.pop("target_vocab"))
        model = Seq2Seq(src, tgt, **cfg)          # checks its options, sizes and memory before allocating
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise _io.damaged(cfg_file, f"has a damaged model config ({type(e).__name__}: {e})") from None
    if meta.get("num_weights") != model.num_weights:
        raise _io.damaged(cfg_file, f"says num_weights = {meta.get('num_weights')!r}, the config describes "
                                     f"{model.num_weights}")
    return _io.fill(model, path, _io.read_spec(path, cfg_file), meta.get("sha256"), verify)
