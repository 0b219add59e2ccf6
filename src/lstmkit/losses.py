"""Losses over per-step network outputs, each returning its value and its gradient w.r.t. the outputs.

Shapes: ``out`` and ``target`` (T, B, K); ``mask`` (T, B) bool, True where a target exists (for the
paper's tasks often only the last step of each sequence). Values are summed over masked steps and
units; ``reduction="mean"`` divides by the number of sequences B instead of nothing.

    half_sse       L = 1/2 sum (out - target)^2            dL/dout = out - target
                   the paper's error (it writes e_k = f'_k (t_k - y_k), without the factor 2)
    cross_entropy  L = -sum target * log(out)              dL/dout = -target / out
                   for softmax outputs (through the softmax this is out - target) and targets
                   that are one-hot or class probabilities
    binary_cross_entropy  L = -sum t log out + (1 - t) log(1 - out)   for logistic outputs

From net inputs (logits) z instead of outputs, as the frame NLL of the music tasks wants (exact and stable
where the output saturates; the readout is then linear and the squashing lives in the loss):

    sigmoid_nll    L = sum softplus(z) - t z  (= BCE of sigma(z))  dL/dz = sigma(z) - t
    softmax_nll    L = sum_frames logsumexp(z) - sum_k t_k z_k      dL/dz = softmax(z) - t   (t one-hot)
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _masked(out, target, mask):
    if out.shape != target.shape:
        raise ValueError(f"loss: outputs have shape {out.shape} but targets {target.shape}; they must match")
    if mask is None:
        return np.ones(out.shape[:-1] + (1,), dtype=out.dtype)
    return np.asarray(mask, dtype=out.dtype).reshape(out.shape[:-1] + (1,))


def _scale(reduction: str, out) -> float:
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / (out.shape[1] if out.ndim == 3 else 1)
    raise ValueError(f"loss: reduction must be 'sum' or 'mean', got {reduction!r}")


def half_sse(out, target, mask=None, reduction: str = "sum"):
    m, s = _masked(out, target, mask), _scale(reduction, out)
    diff = (out - target) * m
    return 0.5 * s * float(np.sum(diff * diff)), s * diff


def cross_entropy(out, target, mask=None, reduction: str = "sum"):
    m, s = _masked(out, target, mask), _scale(reduction, out)
    tiny = np.finfo(out.dtype).tiny
    p = np.maximum(out, tiny)
    loss = -s * float(np.sum(m * target * np.log(p)))
    return loss, -s * m * target / p


def binary_cross_entropy(out, target, mask=None, reduction: str = "sum"):
    m, s = _masked(out, target, mask), _scale(reduction, out)
    eps = np.finfo(out.dtype).eps
    p = np.clip(out, eps, 1.0 - eps)
    loss = -s * float(np.sum(m * (target * np.log(p) + (1 - target) * np.log1p(-p))))
    return loss, s * m * (p - target) / (p * (1.0 - p))


def sigmoid_nll(z, target, mask=None, reduction: str = "sum"):
    """-log p(target) under independent Bernoullis p = sigma(z): softplus(z) - t z, summed."""
    m, s = _masked(z, target, mask), _scale(reduction, z)
    softplus = np.logaddexp(0.0, z)                                 # log(1 + e^z) without overflow
    loss = s * float(np.sum(m * (softplus - target * z)))
    p = 0.5 * (1.0 + np.tanh(0.5 * z))                              # sigma(z) without overflow
    return loss, s * m * (p - target)


def softmax_nll(z, target, mask=None, reduction: str = "sum"):
    """-log p(class) under p = softmax(z) over the last axis, target one-hot (or probabilities)."""
    m, s = _masked(z, target, mask), _scale(reduction, z)
    zmax = z.max(axis=-1, keepdims=True)
    lse = zmax + np.log(np.sum(np.exp(z - zmax), axis=-1, keepdims=True))   # logsumexp(z)
    loss = s * float(np.sum(m * (target.sum(axis=-1, keepdims=True) * lse - np.sum(target * z, axis=-1,
                                                                                 keepdims=True))))
    p = np.exp(z - lse)
    return loss, s * m * (p * target.sum(axis=-1, keepdims=True) - target)


LOSSES: dict[str, Callable] = {
    "half_sse": half_sse,
    "cross_entropy": cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
    "sigmoid_nll": sigmoid_nll,
    "softmax_nll": softmax_nll,
}


def get_loss(name: str) -> Callable:
    if name not in LOSSES:
        raise ValueError(f"loss: unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
    return LOSSES[name]
