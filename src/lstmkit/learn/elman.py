"""Elman-net training (Elman 1988; Cleeremans et al. 1989): error truncated after one step.

An Elman net copies its hidden layer into "context units" that feed the hidden layer at the next
step; the context units are treated as ordinary inputs, so the error of step t changes the weights
into h(t) and goes no further back. In lstmkit the net is ``Network(LSTM(I, H, cell="rnn",
nonlinearity="logistic"), Readout(H [+ I], K, activation))``: the "rnn" cell's R h(t-1) *is* the
context-unit connection. The gradient is the rnn cell's own backward with the error path into
h(t-1) cut::

    d_a(t) = (dy(t) + 0) f'(a(t))          no error arrives from step t+1 (the context is an input)
    dW = sum_t d_a(t) x(t)^T,   dR = sum_t d_a(t) h(t-1)^T,   db = sum_t d_a(t)

It is obtained by running ``net.backward`` with R set to zero for the backward only (the forward
used the real R; the backward uses R only to send error to h(t-1)), so this file adds no kernel.

``update="step"`` (default; how Elman nets were trained) changes the weights after every target
step: each step is one forward from the carried state and one backward of that single step, i.e.
exactly "context units as inputs". ``update="sequence"`` sums the one-step gradients and changes the
weights at the end. Loss: 1/2 SSE over the target steps. The cost per step is O(W), in Python
calls, so use it for the paper's small baselines.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from ..losses import half_sse
from ..network import LSTM, Network
from .rtrl1997 import UPDATES, SequenceResult


def _check(net) -> None:
    if not isinstance(net, Network) or not isinstance(net.rnn, LSTM) or net.rnn.cell_name != "rnn":
        raise ValueError(f"elman: expected Network(LSTM(..., cell='rnn'), Readout(...)), got {net!r}")
    if net.rnn.num_layers != 1 or net.rnn.bidirectional:
        raise ValueError("elman: expected one unidirectional layer (an Elman net has one context layer), got "
                         f"num_layers={net.rnn.num_layers}, bidirectional={net.rnn.bidirectional}")


def _as_batch(x, y, target_mask):
    """(T, I)/(T, K)/(T,) or already (T, B, .)/(T, B) -> time-major batch arrays."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x, y = x[:, None, :], np.asarray(y, dtype=np.float64)[:, None, :]
        if target_mask is not None:
            target_mask = np.asarray(target_mask, dtype=bool)[:, None]
    return x, np.asarray(y, dtype=np.float64), target_mask


def gradient(net, x, y, target_mask=None, lengths=None) -> np.ndarray:
    """The one-step-truncated gradient of 1/2 SSE, weights frozen; flat like ``net.grad_flat``.

    x (T, I) or (T, B, I) (with ``lengths``), y likewise, target_mask (T,) / (T, B) or None.
    """
    _check(net)
    x, y, tm = _as_batch(x, y, target_mask)
    out, _ = net.forward(x, lengths=lengths)
    if tm is None and lengths is not None:
        tm = np.arange(x.shape[0])[:, None] < np.asarray(lengths)[None, :]
    _, dout = half_sse(out, y, tm)
    R = net.rnn.params["l0.R"]
    saved = R.copy()
    try:
        R[...] = 0.0            # the backward sends error to h(t-1) only through R: cut it there
        net.backward(dout)
    finally:
        R[...] = saved
    return net.grad_flat.copy()


def train_sequence(net, x, y, target_mask=None, *, lr: float, update: str = "step") -> SequenceResult:
    """One online training sequence x (T, I), y (T, K); returns the loss and outputs at target steps."""
    _check(net)
    if update not in UPDATES:
        raise ValueError(f"elman: update must be one of {UPDATES}, got {update!r}")
    if isinstance(lr, bool) or not isinstance(lr, Real) or not lr > 0:
        raise ValueError(f"elman: lr must be a positive number, got {lr!r}")
    x = np.asarray(x, dtype=net.dtype)
    y = np.asarray(y, dtype=net.dtype)
    T = x.shape[0]
    tm = np.ones(T, dtype=bool) if target_mask is None else np.asarray(target_mask, dtype=bool).reshape(T)
    if update == "sequence":
        g = gradient(net, x, y, tm)
        out = net.forward(x[:, None, :])[0][:, 0]
        net.flat[...] -= lr * g
        diff = (out - y)[tm]
        return SequenceResult(0.5 * float(np.sum(diff * diff)), out[tm])
    state, loss, outs = None, 0.0, []
    for t in range(T):
        out, state_next = net.forward(x[t:t + 1], state=state)          # one step from the carried context
        if tm[t]:
            value, dout = half_sse(out, y[t:t + 1])
            net.backward(dout)                                         # one step: nothing earlier to reach
            net.flat[...] -= lr * net.grad_flat
            loss += value
            outs.append(out[0])
        state = state_next
    return SequenceResult(loss, np.array(outs).reshape(-1, y.shape[1]))
