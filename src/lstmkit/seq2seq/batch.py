"""A padded, time-major batch of (source, target) id sequences, as teacher forcing reads it.

For a pair (x_1..x_S, y_1..y_n) the decoder reads <bos> y_1 .. y_n and must predict y_1 .. y_n <eos>::

    src      (S, B) int   x_1..x_S, then <pad>                S = the longest source
    src_len  (B,)         S_b >= 1
    tgt_in   (T, B) int   <bos> y_1 .. y_n, then <pad>        T = the longest target + 1
    tgt_out  (T, B) int   y_1 .. y_n <eos>, then <pad>
    tgt_len  (B,)         n_b + 1 (the <eos> is a target)

Masks come from the lengths: source positions s < S_b are real (the encoder's ``lengths``, the
attention's mask); target steps t < n_b + 1 carry a loss.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .vocabulary import BOS, EOS, PAD


@dataclass(frozen=True)
class Batch:
    src: np.ndarray
    src_len: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray
    tgt_len: np.ndarray

    @property
    def size(self) -> int:
        return int(self.src.shape[1])

    @property
    def src_mask(self) -> np.ndarray:
        """(S, B) True at real source positions."""
        return np.arange(self.src.shape[0])[:, None] < self.src_len[None, :]

    @property
    def tgt_mask(self) -> np.ndarray:
        """(T, B) True at steps that carry a loss."""
        return np.arange(self.tgt_out.shape[0])[:, None] < self.tgt_len[None, :]


def pad_ids(seqs: Sequence[np.ndarray], what: str = "source") -> tuple[np.ndarray, np.ndarray]:
    """(L, B) ids padded with <pad> and (B,) lengths; every sequence needs at least one symbol."""
    lens = np.array([len(s) for s in seqs], dtype=np.int64)
    if lens.size == 0 or lens.min() < 1:
        raise ValueError(f"{what}: expected sequences of at least one symbol, got an empty one")
    out = np.full((int(lens.max()), lens.size), PAD, dtype=np.int64)              # (L, B)
    for b, s in enumerate(seqs):
        out[: len(s), b] = s
    return out, lens


def make_batch(sources: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> Batch:
    """The teacher-forcing batch of id sequences ``sources`` and ``targets`` (without <bos>/<eos>)."""
    if len(sources) != len(targets):
        raise ValueError(f"batch: {len(sources)} sources but {len(targets)} targets; they must pair up")
    src, src_len = pad_ids(sources, "source")
    n = np.array([len(t) for t in targets], dtype=np.int64)
    T = int(n.max()) + 1 if n.size else 1
    tgt_in = np.full((T, n.size), PAD, dtype=np.int64)                             # (T, B)
    tgt_out = np.full((T, n.size), PAD, dtype=np.int64)                            # (T, B)
    for b, t in enumerate(targets):
        tgt_in[0, b] = BOS
        tgt_in[1 : n[b] + 1, b] = t
        tgt_out[: n[b], b] = t
        tgt_out[n[b], b] = EOS
    return Batch(src, src_len, tgt_in, tgt_out, n + 1)
