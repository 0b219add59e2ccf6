"""Vanilla (Elman) recurrent layer: the baseline the 1997 paper shows failing on long lags.

Equations, per step t (f = tanh or logistic)::

    a(t) = W x(t) + R h(t-1) + b          net input                     (RNN-1)
    h(t) = f(a(t))                        output and recurrent state    (RNN-2)

Backward, visiting the same symbols in reverse::

    d_h(t)   = dy(t) + d_a(t+1) R          error reaching h(t)           (RNN-2')
    d_a(t)   = d_h(t) * f'(h(t))                                          (RNN-1')
    dW = sum_t d_a(t)^T x(t),  dR = sum_t d_a(t)^T h(t-1),  db = sum_t d_a(t),  dx(t) = d_a(t) W

=========  ==========  ==========================
parameter  shape       meaning
=========  ==========  ==========================
W          (H, I)      input weights
R          (H, H)      recurrent weights
b          (H,)        bias
=========  ==========  ==========================

Initialisation: uniform in [-1/sqrt(H), 1/sqrt(H)], as torch.nn.RNN, so converted nets match.
"""
from __future__ import annotations

import numpy as np

from .. import activations as act
from .._numba import njit
from .base import Cell


@njit
def _forward_kernel(xw, RT, h0, mask, code, hs):
    """hs[0] = h0; hs[t+1] = f(xw[t] + hs[t] @ R^T) where mask[t], else hs[t]."""
    T, B, H = xw.shape
    hs[0] = h0
    for t in range(T):
        a = xw[t] + np.dot(hs[t], RT)                              # (RNN-1), (B, H)
        for b in range(B):
            if mask[t, b]:
                for j in range(H):
                    hs[t + 1, b, j] = act.apply(code, a[b, j])       # (RNN-2)
            else:
                hs[t + 1, b] = hs[t, b]


@njit
def _backward_kernel(hs, dy, dhT, R, mask, code, da):
    """Fill da (T, B, H) with the net-input errors; return the error reaching h0."""
    T, B, H = dy.shape
    dh = dhT.copy()                                                   # (B, H)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if mask[t, b]:
                for j in range(H):
                    d_h = dh[b, j] + dy[t, b, j]                      # (RNN-2')
                    da[t, b, j] = d_h * act.deriv(code, hs[t + 1, b, j])  # (RNN-1')
            else:
                for j in range(H):
                    da[t, b, j] = 0.0                                 # state carried unchanged
        back = np.dot(da[t], R)                                       # error reaching h(t-1)
        for b in range(B):
            if mask[t, b]:
                dh[b] = back[b]
    return dh


class RNNCell(Cell):
    """Elman layer h(t) = f(W x(t) + R h(t-1) + b)."""

    name = "rnn"
    DEFAULTS = {
        "nonlinearity": "tanh",  # torch.nn.RNN's default; "logistic" for the paper's baselines
        "init_range": None,      # None: 1/sqrt(H) as PyTorch; a number r: uniform in [-r, r]
    }
    state_names = ("h",)

    def _check_options(self) -> None:
        self._act = act.get(self.options["nonlinearity"])
        r = self.options["init_range"]
        if r is not None and not (isinstance(r, (int, float)) and r > 0):
            raise ValueError(f"rnn: init_range must be a positive number or None, got {r!r}")

    def state_sizes(self):
        return {"h": self.hidden_size}

    def param_shapes(self):
        H, I = self.hidden_size, self.input_size
        return {"W": (H, I), "R": (H, H), "b": (H,)}

    def init_params(self, params, rng):
        r = self.options["init_range"] or 1.0 / np.sqrt(self.hidden_size)
        for name in ("W", "R", "b"):
            params[name][...] = rng.uniform(-r, r, size=params[name].shape)

    def forward(self, params, x, state0, mask=None):
        T, B, _ = x.shape
        H = self.hidden_size
        if mask is None:
            mask = np.ones((T, B), dtype=np.bool_)
        # Input projection for all steps in one product; only the recurrence runs step by step.
        xw = (x.reshape(T * B, -1) @ params["W"].T + params["b"]).reshape(T, B, H)  # (T, B, H)
        hs = np.empty((T + 1, B, H), dtype=x.dtype)                                 # h(0..T)
        _forward_kernel(xw, np.ascontiguousarray(params["R"].T), state0[0], mask, self._act.code, hs)
        y = hs[1:] * mask[:, :, None]
        return y, (hs[T].copy(),), (x, hs, mask)

    def backward(self, params, cache, dy, dstate, grads, truncated=False):
        x, hs, mask = cache
        T, B, H = dy.shape
        dhT = dstate[0] if dstate is not None else np.zeros((B, H), dtype=dy.dtype)
        da = np.empty((T, B, H), dtype=dy.dtype)
        dy = dy * mask[:, :, None]  # outputs at masked steps are constant zeros
        dh0 = _backward_kernel(hs, np.ascontiguousarray(dy), dhT, params["R"], mask, self._act.code, da)
        # Weight gradients as three large products over all steps at once.
        da2 = da.reshape(T * B, H)
        grads["W"] += da2.T @ x.reshape(T * B, -1)
        grads["R"] += da2.T @ hs[:-1].reshape(T * B, H)
        grads["b"] += da2.sum(axis=0)
        dx = (da2 @ params["W"]).reshape(T, B, -1)
        return dx, (dh0,)

    def internals(self, cache):
        _, hs, _ = cache
        return {"h": hs[1:]}
