"""Character-level text: corpus, vocabulary, parallel streams, the unigram baseline.

The vocabulary is the sorted set of characters of the whole corpus (the symbol set, as char-rnn
does), so that held-out text has no unknown symbol; the *statistics* of the baseline come from the
training part only. The training part (the first 1 - val_fraction of the characters) is cut into B
contiguous streams of equal length, one per batch column: truncated BPTT then walks all B streams in
parallel, chunk by chunk, carrying the state of each stream from one chunk to the next.

Unigram baseline: p(c) = (count_train(c) + 1) / (n_train + V) (add-one smoothing, so held-out
characters rare in training keep a finite cost); bits per character = -mean log2 p(c) over the
held-out characters.
"""
from __future__ import annotations

import numpy as np

from .table import read_text


def load_corpus(path) -> str:
    text = read_text(path, "--data")
    if not text.strip():
        raise ValueError(f"--data: {path} is an empty corpus (no characters besides whitespace); "
                         f"expected a UTF-8 text file to learn from")
    return text


def build_vocab(text: str) -> list[str]:
    return sorted(set(text))


def encode(text: str, vocab: list[str], what: str = "text") -> np.ndarray:
    index = {c: i for i, c in enumerate(vocab)}
    unknown = sorted({c for c in text if c not in index})
    if unknown:
        raise ValueError(f"{what}: character(s) {''.join(unknown)!r} are not in the model's vocabulary "
                         f"of {len(vocab)} characters; use only characters of the training corpus")
    return np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))


def streams(ids: np.ndarray, B: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``ids`` into B contiguous streams: inputs (L, B) and next-character targets (L, B).

    Stream b covers ids[b L : (b+1) L + 1]; the tail that does not fill a stream is dropped.
    """
    L = (ids.size - 1) // B
    if L < 1:
        raise ValueError(f"text too short for {B} parallel streams: {ids.size} characters; "
                         f"lower --batch-size or give more text")
    starts = np.arange(B) * L
    idx = starts[None, :] + np.arange(L)[:, None]                 # (L, B)
    return np.ascontiguousarray(ids[idx]), np.ascontiguousarray(ids[idx + 1])


def one_hot(ids: np.ndarray, V: int, dtype) -> np.ndarray:
    """(T, B) integer ids -> (T, B, V) one-hot rows."""
    out = np.zeros(ids.shape + (V,), dtype=dtype)
    np.put_along_axis(out, ids[..., None].astype(np.intp), 1.0, axis=-1)
    return out


def unigram_bpc(train_ids: np.ndarray, val_ids: np.ndarray, V: int) -> float:
    counts = np.bincount(train_ids, minlength=V).astype(np.float64) + 1.0
    p = counts / counts.sum()
    return float(-np.mean(np.log2(p[val_ids])))
