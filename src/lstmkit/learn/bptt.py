"""Backpropagation through time: full, and truncated with state carried across chunks.

Full BPTT differentiates the loss of whole sequences: one forward over all T steps, one backward.

Truncated BPTT(k1, k2) (Williams & Peng 1990) serves long streams: every k1 steps the network takes
a weight step from the error of those k1 steps, sent back at most k2 steps. It is implemented by
re-running the forward over the last k2 steps from the state stored k2 steps earlier (k2 must be a
multiple of k1), taking the loss on the last k1 of them only, and carrying the state forward across
windows ("stateful" training). k1 = k2 is the common case: consecutive chunks, state carried.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as V
from ..health import check_finite
from ..losses import get_loss


def loss_and_gradient(net, x, target, loss="half_sse", lengths=None, target_mask=None, state=None,
                      reduction="sum", truncated=False):
    """Forward, loss and backward of ``net`` (a :class:`~lstmkit.network.Network`) on a batch.

    Fills ``net.grads`` with the gradient of the loss; returns ``(loss, outputs, final_state)``.
    ``target_mask`` (T, B) marks the steps that carry a target (default: every real step).
    """
    out, stateT = net.forward(x, state=state, lengths=lengths)
    T = out.shape[0]
    if target_mask is None and lengths is not None:
        target_mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    value, dout = get_loss(loss)(out, np.asarray(target, dtype=out.dtype), target_mask, reduction)
    check_finite("training loss", value)                   # stop before NaN reaches the weights
    net.backward(dout, truncated=truncated)
    return value, out, stateT


def tbptt(net, x, target, optimizer, k1: int, k2: int | None = None, loss="half_sse", target_mask=None,
          state=None, reduction="sum"):
    """One pass of truncated BPTT over a (T, B, I) stream; returns ``(mean loss per window, state)``.

    ``state`` is carried in and out, so successive calls continue one stream.
    """
    k1 = V.positive_int("k1", k1)
    k2 = k1 if k2 is None else V.positive_int("k2", k2)
    if k2 % k1:
        raise ValueError(f"tbptt: k2 must be a multiple of k1 (got k1={k1}, k2={k2}); e.g. k2={k1 * max(1, k2 // k1)}")
    T = x.shape[0]
    lossf = get_loss(loss)
    stored = {0: state}                     # k1 boundary -> state at that step
    total, windows = 0.0, 0
    for end in range(k1, T + k1, k1):
        end = min(end, T)
        prev = (end - 1) // k1 * k1             # this window's error comes from steps prev..end-1
        begin = max(0, end - k2) // k1 * k1     # backprop reaches back to here (a stored boundary)
        out, s_end = net.forward(x[begin:end], state=stored[begin])
        m = np.zeros(out.shape[:2], dtype=bool)  # (steps, B)
        m[prev - begin:] = True
        if target_mask is not None:
            m &= np.asarray(target_mask[begin:end], dtype=bool)
        value, dout = lossf(out, target[begin:end], m, reduction)
        check_finite("training loss", value, end)             # stop before NaN reaches the weights
        net.backward(dout)
        check_finite("gradient", net.grad_flat, end)
        optimizer.step(net.flat, net.grad_flat)
        stored[end] = s_end                     # computed with the weights before this step, as usual
        for key in [k for k in stored if k < end - k2]:
            del stored[key]
        total += value
        windows += 1
    return total / windows, stored[T]
