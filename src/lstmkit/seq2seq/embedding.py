"""Symbol ids -> input vectors: a learned lookup table, or fixed one-hot rows.

    learned   x = E[id]                 E (V, d), trained; dE[id] += dx           (E1, E1')
    onehot    x = e_id  (the unit vector) no parameters; d = V                   (E2)

Initialisation of E: normal(0, 1/sqrt(d)), so that a vector has a norm near 1, as a one-hot row.
The <pad> row of E receives no gradient: padded positions send zero error back (the encoder's masked
steps ignore their inputs, and the decoder's padded steps have no loss).

``EMBEDDINGS[name](vocab_size, dim)``; each has ``param_shapes()``, ``init(params, rng)``,
``forward(params, ids, dtype) -> x`` and ``backward(params, ids, dx, grads)``.
"""
from __future__ import annotations

import numpy as np


class LearnedEmbedding:
    name = "learned"

    def __init__(self, vocab_size: int, dim: int):
        self.vocab_size, self.dim = int(vocab_size), int(dim)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"E": (self.vocab_size, self.dim)}

    def init(self, params, rng: np.random.Generator) -> None:
        params["E"][...] = rng.normal(0.0, 1.0 / np.sqrt(self.dim), size=params["E"].shape)

    def forward(self, params, ids: np.ndarray, dtype=None) -> np.ndarray:
        """ids (...) int -> x (..., d), in the parameters' dtype."""
        return params["E"][ids]                                                 # (E1)

    def backward(self, params, ids: np.ndarray, dx: np.ndarray, grads) -> None:
        np.add.at(grads["E"], ids.reshape(-1), dx.reshape(-1, self.dim))        # (E1') rows of repeated ids add


class OneHotEmbedding:
    name = "onehot"

    def __init__(self, vocab_size: int, dim: int | None = None):
        self.vocab_size = int(vocab_size)
        self.dim = self.vocab_size                                               # d = V whatever was asked

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def init(self, params, rng) -> None:
        pass

    def forward(self, params, ids: np.ndarray, dtype=np.float64) -> np.ndarray:
        out = np.zeros(ids.shape + (self.vocab_size,), dtype=dtype)              # (..., V)
        np.put_along_axis(out, ids[..., None].astype(np.intp), 1.0, axis=-1)    # (E2)
        return out

    def backward(self, params, ids, dx, grads) -> None:
        pass                                                                      # nothing to learn


EMBEDDINGS = {c.name: c for c in (LearnedEmbedding, OneHotEmbedding)}


def make_embedding(name: str, vocab_size: int, dim: int):
    if name not in EMBEDDINGS:
        raise ValueError(f"embedding: expected one of {', '.join(EMBEDDINGS)}, got {name!r}")
    return EMBEDDINGS[name](vocab_size, dim)
