"""Attention over the encoder's outputs: Luong's dot and general scores, Bahdanau's additive score.

The memory is the encoder's output at every source position, h_s (S, B, M); the query q (B, Hq) is a
decoder hidden state. Every score function gives e_s, which a softmax masked over source padding turns
into weights, and the context is their weighted sum::

    e_s   = score(q, h_s)                                       (B, S)                        (A1)
    a_s   = exp(e_s) / sum_{r real} exp(e_r),  a_s = 0 at padding                             (A2)
    ctx   = sum_s a_s h_s                                       (B, M)                        (A3)

    dot       score = q . h_s                   (Luong et al. 2015, eq. 8; needs Hq = M)       (S1)
    general   score = q . (W_a h_s)             W_a (Hq, M)   (Luong et al. 2015, eq. 8)       (S2)
    bahdanau  score = v . tanh(W_1 h_s + W_2 q) W_1 (A, M), W_2 (A, Hq), v (A,)               (S3)
              (Bahdanau et al. 2015, appendix A.1.2: v_a^T tanh(W_a s_{i-1} + U_a h_j))

Luong's query is the decoder's *current* top hidden state h_t (``query = "current"``); Bahdanau's is
the *previous* one, h_{t-1} (``query = "previous"``), and the context feeds the decoder's input.

The parts of a score that depend only on the memory (W_a h_s, W_1 h_s) are computed once per batch as
the keys K (S, B, k), not once per decoder step. Backward, in the reverse order (dctx given)::

    da_s  = dctx . h_s,   dh_s += a_s dctx                                                     (A3')
    de_s  = a_s (da_s - sum_r a_r da_r)                          (zero at padding)              (A2')
    dot / general:  dq = sum_s de_s K_s,   dK_s = de_s q,  K = h (dot) or W_a h (general)      (S1', S2')
    bahdanau:       dz_s = de_s v (1 - z_s^2),  z_s = tanh(K_s + W_2 q);  dv = sum_s de_s z_s;
                    dK_s = dz_s;  dW_2 = sum_s dz_s^T q;  dq = (sum_s dz_s) W_2                 (S3')
    keys:           dW = sum dK^T h,  dh += dK W        (W = W_a or W_1; dot: dh += dK)

Initialisation: uniform in [-r, r], r = 1/sqrt(fan-in), as lstmkit's Readout.
``ATTENTIONS[name](query_size, memory_size, attention_size)``; ``"none"`` is the absence of attention.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class StepCache(NamedTuple):
    """What the backward of one attention step needs."""

    a: np.ndarray        # (B, S) weights, zero at padding
    q: np.ndarray        # (B, Hq) query
    z: np.ndarray | None  # (S, B, A) bahdanau's tanh layer, else None


class Attention:
    """Shared softmax, context and their backward; subclasses give the keys and the score."""

    name = ""
    query = "current"              # which decoder state asks: "current" h_t (Luong) or "previous" h_{t-1}
    key_weight = None              # the matrix W with K = W h_s (None: K = h_s, the dot score)

    def __init__(self, query_size: int, memory_size: int, attention_size: int):
        self.query_size, self.memory_size, self.attention_size = int(query_size), int(memory_size), int(attention_size)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def init(self, params, rng: np.random.Generator) -> None:
        for name, shape in self.param_shapes().items():
            r = 1.0 / np.sqrt(shape[-1])
            params[name][...] = rng.uniform(-r, r, size=shape)

    # ---------------------------------------------------------------- memory-only part, once per batch
    def keys(self, params, mem: np.ndarray) -> np.ndarray:
        """mem (S, B, M) -> K (S, B, k): W h_s (S2, S3), or h_s itself (S1)."""
        if self.key_weight is None:
            return mem
        S, B, M = mem.shape
        W = params[self.key_weight]                                                # (k, M)
        return (mem.reshape(S * B, M) @ W.T).reshape(S, B, W.shape[0])

    def keys_backward(self, params, mem: np.ndarray, dK: np.ndarray, grads) -> np.ndarray:
        """dK (S, B, k) -> the error it sends to mem (S, B, M); dW accumulated (keys' line of the docstring)."""
        if self.key_weight is None:
            return dK
        S, B, M = mem.shape
        W = params[self.key_weight]
        dK2 = dK.reshape(S * B, W.shape[0])
        grads[self.key_weight] += dK2.T @ mem.reshape(S * B, M)
        return (dK2 @ W).reshape(S, B, M)

    # ---------------------------------------------------------------- one decoder step
    def _scores(self, params, K, q):
        """e (B, S) and the tanh layer (bahdanau) or None."""
        return np.einsum("sbk,bk->bs", K, q), None                                # (S1), (S2)

    def _scores_backward(self, params, K, cache: StepCache, de, grads):
        """de (B, S) -> dq (B, Hq), dK (S, B, k)."""
        return np.einsum("bs,sbk->bk", de, K), np.einsum("bs,bk->sbk", de, cache.q)  # (S1'), (S2')

    def forward(self, params, K, mem, mask_bs, q):
        """Weights a (B, S), context (B, M) and the step's cache, for query q (B, Hq).

        ``mask_bs`` (B, S) bool: True at real source positions (each row has at least one).
        """
        e, z = self._scores(params, K, q)                                          # (A1) (B, S)
        e = np.where(mask_bs, e, -np.inf)
        e = e - e.max(axis=1, keepdims=True)
        w = np.exp(e)                                                              # exp(-inf) = 0 at padding
        a = w / w.sum(axis=1, keepdims=True)                                       # (A2) (B, S)
        ctx = np.einsum("bs,sbm->bm", a, mem)                                      # (A3) (B, M)
        return a, ctx, StepCache(a, q, z)

    def backward(self, params, K, mem, cache: StepCache, dctx, grads):
        """dctx (B, M) -> dq (B, Hq), dK (S, B, k), dmem (S, B, M) of this step."""
        a = cache.a
        da = np.einsum("bm,sbm->bs", dctx, mem)                                    # (A3')
        dmem = np.einsum("bs,bm->sbm", a, dctx)                                    # (A3')
        de = a * (da - np.sum(a * da, axis=1, keepdims=True))                      # (A2')
        dq, dK = self._scores_backward(params, K, cache, de, grads)
        return dq, dK, dmem


class DotAttention(Attention):
    name = "dot"                     # needs Hq = M (checked with the model's options)


class GeneralAttention(Attention):
    name = "general"
    key_weight = "W_a"                                                             # K = W_a h_s (S2)

    def param_shapes(self):
        return {"W_a": (self.query_size, self.memory_size)}


class BahdanauAttention(Attention):
    name = "bahdanau"
    query = "previous"
    key_weight = "W_1"                                                             # K = W_1 h_s (S3)

    def param_shapes(self):
        A = self.attention_size
        return {"W_1": (A, self.memory_size), "W_2": (A, self.query_size), "v": (A,)}

    def _scores(self, params, K, q):
        z = np.tanh(K + (q @ params["W_2"].T)[None])                               # (S3) (S, B, A)
        return (z @ params["v"]).T, z                                              # (S3) (B, S)

    def _scores_backward(self, params, K, cache, de, grads):
        z = cache.z
        grads["v"] += np.einsum("bs,sba->a", de, z)                                # (S3')
        dz = de.T[:, :, None] * params["v"] * (1.0 - z * z)                        # (S3') (S, B, A)
        dqp = dz.sum(axis=0)                                                       # (B, A)
        grads["W_2"] += dqp.T @ cache.q
        return dqp @ params["W_2"], dz


ATTENTIONS: dict[str, type[Attention]] = {c.name: c for c in (DotAttention, GeneralAttention, BahdanauAttention)}
CHOICES = ("none", *ATTENTIONS)


def make_attention(name: str, query_size: int, memory_size: int, attention_size: int) -> Attention | None:
    """The attention ``name`` (None for "none")."""
    if name == "none":
        return None
    if name not in ATTENTIONS:
        raise ValueError(f"attention: expected one of {', '.join(CHOICES)}, got {name!r}")
    return ATTENTIONS[name](query_size, memory_size, attention_size)
