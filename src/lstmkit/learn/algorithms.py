"""Registry of learning algorithms: ``ALGORITHMS[name]`` is an :class:`Algorithm`.

Common signatures (x, y, target_mask are one sequence, time-major: x (T, I), y (T, K), target_mask
(T,) bool or None for "a target at every step"; the loss is 1/2 SSE over the target steps, the
paper's E without its factor 2)::

    gradient(net, x, y, target_mask=None, **options) -> np.ndarray
        weights frozen; the algorithm's gradient as a flat vector in the layout of net.grad_flat
        (which is filled too)
    train_sequence(net, x, y, target_mask=None, *, lr, **options) -> SequenceResult(loss, outputs)
        one online training sequence; loss and the outputs at the target steps (None where the
        algorithm does not give them) as seen while training
    search(net, success, rng, **options) -> GuessResult(trials, solved)
        weight search without gradients (random guessing)

An entry leaves ``None`` where a form does not apply (guessing has no gradient; truncated BPTT's
weight changes within a sequence have no frozen-weight gradient of their own here).

========  ============================================================================
name      what
========  ============================================================================
bptt      full backpropagation through time (exact gradient; ``truncated=True`` the 1997 truncation)
tbptt     truncated BPTT(k1, k2) with the state carried across windows (Williams & Peng 1990)
rtrl1997  the paper's truncated RTRL for memory-cell blocks, online, O(W) per step
rtrl      full RTRL (Williams & Zipser 1989) for vanilla recurrent nets, O(n^4) per step
elman     Elman net: error truncated after one step (context units as inputs)
guess     random weight guessing in [-w, w], w = 100 (the paper's protocol)
========  ============================================================================
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import elman as _elman
from . import rtrl as _rtrl
from . import rtrl1997 as _rtrl1997
from .bptt import loss_and_gradient, tbptt
from .guess import GuessResult, guess
from .optim import SGD
from .rtrl1997 import SequenceResult


@dataclass(frozen=True)
class Algorithm:
    name: str
    description: str                       # one line
    gradient: Callable | None = None       # gradient(net, x, y, target_mask=None, **options) -> flat ndarray
    train_sequence: Callable | None = None  # train_sequence(net, x, y, target_mask=None, *, lr, **options)
    search: Callable | None = None         # search(net, success, rng, **options) -> GuessResult


def _batch(net, x, y, target_mask):
    x = np.asarray(x, dtype=net.dtype)
    y = np.asarray(y, dtype=net.dtype)
    tm = None if target_mask is None else np.asarray(target_mask, dtype=bool).reshape(-1, 1)
    return x.reshape(x.shape[0], 1, -1), y.reshape(y.shape[0], 1, -1), tm


def bptt_gradient(net, x, y, target_mask=None, *, truncated: bool = False) -> np.ndarray:
    """Full BPTT of one sequence (``truncated=True``: the cell's 1997 truncated gradient)."""
    x3, y3, tm = _batch(net, x, y, target_mask)
    loss_and_gradient(net, x3, y3, loss="half_sse", target_mask=tm, truncated=truncated)
    return net.grad_flat.copy()


def bptt_train_sequence(net, x, y, target_mask=None, *, lr: float, truncated: bool = False) -> SequenceResult:
    """One sequence of full BPTT, then one SGD step (weights change once per sequence)."""
    x3, y3, tm = _batch(net, x, y, target_mask)
    loss, out, _ = loss_and_gradient(net, x3, y3, loss="half_sse", target_mask=tm, truncated=truncated)
    SGD(lr).step(net.flat, net.grad_flat)
    out = out[:, 0]
    return SequenceResult(float(loss), out if tm is None else out[tm[:, 0]])


def tbptt_train_sequence(net, x, y, target_mask=None, *, lr: float, k1: int, k2: int | None = None) -> SequenceResult:
    """One sequence of truncated BPTT(k1, k2) with SGD steps every k1 steps; loss = mean per window."""
    x3, y3, tm = _batch(net, x, y, target_mask)
    loss, _ = tbptt(net, x3, y3, SGD(lr), k1, k2, loss="half_sse", target_mask=tm)
    return SequenceResult(float(loss), None)


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("bptt", "full backpropagation through time: exact gradient, one SGD step per sequence",
              gradient=bptt_gradient, train_sequence=bptt_train_sequence),
    Algorithm("tbptt", "truncated BPTT(k1, k2): a weight step every k1 steps, error sent back k2 steps",
              train_sequence=tbptt_train_sequence),
    Algorithm("rtrl1997", "the 1997 paper's truncated RTRL for memory-cell blocks: online, O(W) per step",
              gradient=_rtrl1997.gradient, train_sequence=_rtrl1997.train_sequence),
    Algorithm("rtrl", "full RTRL (Williams & Zipser 1989) for vanilla recurrent nets, O(n^4) per step",
              gradient=_rtrl.gradient, train_sequence=_rtrl.train_sequence),
    Algorithm("elman", "Elman net: error truncated after one step, context units treated as inputs",
              gradient=_elman.gradient, train_sequence=_elman.train_sequence),
    Algorithm("guess", "random weight guessing: all weights uniform in [-w, w] (w = 100) until solved",
              search=guess),
)}


def get_algorithm(name: str) -> Algorithm:
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm: unknown name {name!r}; expected one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


__all__ = ["ALGORITHMS", "Algorithm", "GuessResult", "SequenceResult", "get_algorithm"]
