"""Full real-time recurrent learning (Williams & Zipser 1989) for vanilla recurrent nets: the paper's RTRL baseline.

The network is ``Network(LSTM(I, H, cell="rnn", nonlinearity=...), Readout(H [+ I], K, activation),
input_shortcut)``: one fully recurrent hidden layer (the "rnn" cell: a = W x(t) + R h(t-1) + b,
h = f(a)) and output units reading the current hidden outputs (and, with ``input_shortcut``, the
inputs: the paper's 2a/2b baseline, "each layer connected from all layers below", is
``LSTM(p + 1, 1, cell="rnn", nonlinearity="logistic")`` with a shortcut readout). The loss is 1/2
SSE over the target steps.

RTRL carries the exact derivative of every hidden output with respect to every hidden-layer
weight forward in time; with n_w = H I + H H + H such weights, P is (H, n_w)::

    P_k,(uv)(t) = f'(a_k(t)) [ sum_l R_kl P_l,(uv)(t-1) + delta_ku z_v(t) ]       (W&Z 1989, eq. 12)
    z(t) = x(t) for W_uv,   h(t-1) for R_uv,   1 for b_u;   P(0) = 0
    e_k = f'_k (y_k - t_k),  dy_l = sum_k Wo_kl e_k                                output units
    dE/dw_(uv) = sum_l dy_l P_l,(uv)(t),   dE/dWo_kl = e_k h_l(t)   at every target step

This is the untruncated gradient: with weights frozen it equals full BPTT (``net.backward``), which
the tests hold to 1e-10. Per step it costs O(H^2 n_w) = O(H^4) (with I ~ H) and it stores O(H n_w)
numbers, independent of T. ``update="step"`` changes the weights at every target step (Williams &
Zipser's online RTRL, the paper's baseline); ``update="sequence"`` sums the changes over the
sequence. The hidden layer's bias b cannot be switched off in the "rnn" cell, so the 2a baseline
has one weight more than the paper's 10404 (set it to 0 if that matters).
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from .. import activations as act
from .._numba import njit
from ..network import LSTM, Network
from .rtrl1997 import UPDATES, SequenceResult


@njit
def _rtrl_kernel(w, dest, scale, cfg, off, x, y, tmask, reset, h_prev, P, out_rec):
    """One sequence of RTRL; ``dest += scale * dE/dw`` at target steps (dest is w for update="step")."""
    I, H, K, Fo, shortcut, code_f, code_o = cfg[0], cfg[1], cfg[2], cfg[3], cfg[4], cfg[5], cfg[6]
    oW, oR, ob, oWo, obo = off[0], off[1], off[2], off[3], off[4]
    nWI = H * I
    nWR = H * H
    n_w = nWI + nWR + H
    T = tmask.shape[0]
    dt = w.dtype
    h = np.empty(H, dtype=dt)             # h(t)
    Pn = np.empty((H, n_w), dtype=dt)     # P(t) while P holds P(t-1)
    e = np.empty(K, dtype=dt)
    dh = np.empty(H, dtype=dt)
    if reset:
        h_prev[:] = 0.0
        P[:] = 0.0
    loss = 0.0
    n_t = 0
    for t in range(T):
        for u in range(H):
            a = w[ob + u]
            for m in range(I):
                a += w[oW + u * I + m] * x[t, m]
            for l in range(H):
                a += w[oR + u * H + l] * h_prev[l]
            h[u] = act.apply(code_f, a)                                  # (RNN-1, RNN-2)
        # P(t) = f'(a) * (R P(t-1) + the direct dependence of a_k on its own weights)   (W&Z 12)
        for k in range(H):
            for n in range(n_w):
                Pn[k, n] = 0.0
            for l in range(H):
                r = w[oR + k * H + l]
                if r != 0.0:
                    for n in range(n_w):
                        Pn[k, n] += r * P[l, n]
            for m in range(I):
                Pn[k, k * I + m] += x[t, m]
            for l in range(H):
                Pn[k, nWI + k * H + l] += h_prev[l]
            Pn[k, nWI + nWR + k] += 1.0
            fp = act.deriv(code_f, h[k])
            for n in range(n_w):
                Pn[k, n] *= fp
        for k in range(H):                                               # only now: Pn read the old P
            for n in range(n_w):
                P[k, n] = Pn[k, n]
        if tmask[t]:
            for k in range(K):
                row = oWo + k * Fo
                z = w[obo + k] if obo >= 0 else 0.0
                for u in range(H):
                    z += w[row + u] * h[u]
                if shortcut:
                    for m in range(I):
                        z += w[row + H + m] * x[t, m]
                o = act.apply(code_o, z)
                out_rec[n_t, k] = o
                diff = o - y[t, k]
                loss += 0.5 * diff * diff
                e[k] = diff * act.deriv(code_o, o)                       # output-unit error
            n_t += 1
            for u in range(H):
                a = 0.0
                for k in range(K):
                    a += w[oWo + k * Fo + u] * e[k]
                dh[u] = a
            # Errors first, then the changes: with update="step", dest is w.
            for k in range(K):
                row = oWo + k * Fo
                d = scale * e[k]
                for u in range(H):
                    dest[row + u] += d * h[u]
                if shortcut:
                    for m in range(I):
                        dest[row + H + m] += d * x[t, m]
                if obo >= 0:
                    dest[obo + k] += d
            for n in range(n_w):
                g = 0.0
                for l in range(H):
                    g += dh[l] * P[l, n]
                g *= scale
                if n < nWI:
                    dest[oW + n] += g
                elif n < nWI + nWR:
                    dest[oR + n - nWI] += g
                else:
                    dest[ob + n - nWI - nWR] += g
        for u in range(H):
            h_prev[u] = h[u]
    return loss


class RTRL:
    """Full RTRL bound to one vanilla network (buffers O(H n_w) allocated once)."""

    def __init__(self, net, lr: float = 1.0, update: str = "step"):
        if not isinstance(net, Network) or not isinstance(net.rnn, LSTM) or net.rnn.cell_name != "rnn":
            raise ValueError(f"rtrl: expected Network(LSTM(..., cell='rnn'), Readout(...)), got {net!r}; full "
                             f"RTRL is the baseline for vanilla recurrent nets (use rtrl1997 for lstm1997 cells)")
        if net.rnn.num_layers != 1 or net.rnn.bidirectional:
            raise ValueError("rtrl: expected one unidirectional layer, got "
                             f"num_layers={net.rnn.num_layers}, bidirectional={net.rnn.bidirectional}")
        if net.readout.activation == "softmax":
            raise ValueError("rtrl: softmax outputs are not supported; use 'logistic' or 'identity' output units")
        if update not in UPDATES:
            raise ValueError(f"rtrl: update must be one of {UPDATES}, got {update!r}")
        if isinstance(lr, bool) or not isinstance(lr, Real) or not lr > 0:
            raise ValueError(f"rtrl: lr must be a positive number, got {lr!r}")
        self.net, self.lr, self.update = net, float(lr), update
        cell = net.rnn.cells[0]
        I, H = cell.input_size, cell.hidden_size
        sl = net._params.slices
        ro = net.readout
        self._cfg = np.array([I, H, ro.out_features, ro.in_features, int(net.input_shortcut), cell._act.code,
                              ro._act.code], dtype=np.int64)
        self._off = np.array([sl["rnn.l0.W"].start, sl["rnn.l0.R"].start, sl["rnn.l0.b"].start, sl["out.W"].start,
                              sl["out.b"].start if "out.b" in sl else -1], dtype=np.int64)
        self.I, self.H, self.K = I, H, ro.out_features
        self.h = np.zeros(H, dtype=net.dtype)
        self.P = np.zeros((H, H * I + H * H + H), dtype=net.dtype)      # dh/dw for the hidden layer's weights

    def _run(self, dest, scale, x, y, target_mask, reset=True):
        dt = self.net.dtype
        x = np.ascontiguousarray(np.asarray(x, dtype=dt).reshape(-1, self.I))
        T = x.shape[0]
        y = np.ascontiguousarray(np.asarray(y, dtype=dt).reshape(T, self.K))
        tm = np.ones(T, dtype=np.bool_) if target_mask is None else \
            np.ascontiguousarray(np.asarray(target_mask, dtype=np.bool_).reshape(T))
        out = np.empty((int(tm.sum()), self.K), dtype=dt)
        loss = _rtrl_kernel(self.net.flat, dest, scale, self._cfg, self._off, x, y, tm, reset, self.h, self.P, out)
        return SequenceResult(float(loss), out)

    def gradient(self, x, y, target_mask=None, accumulate: bool = False) -> SequenceResult:
        """Weights frozen: the exact gradient of 1/2 SSE of one sequence into ``net.grad_flat``."""
        if not accumulate:
            self.net.zero_grad()
        return self._run(self.net.grad_flat, 1.0, x, y, target_mask)

    def train_sequence(self, x, y, target_mask=None) -> SequenceResult:
        if self.update == "step":
            return self._run(self.net.flat, -self.lr, x, y, target_mask)
        res = self.gradient(x, y, target_mask)
        self.net.flat[...] -= self.lr * self.net.grad_flat
        return res


def gradient(net, x, y, target_mask=None) -> np.ndarray:
    """Exact gradient of 1/2 SSE of one sequence x (T, I), y (T, K), weights frozen; flat, like net.grad_flat."""
    RTRL(net).gradient(x, y, target_mask)
    return net.grad_flat.copy()


def train_sequence(net, x, y, target_mask=None, *, lr: float, update: str = "step",
                   learner: RTRL | None = None) -> SequenceResult:
    """One online training sequence with full RTRL (pass ``learner`` to reuse its buffers)."""
    return (learner or RTRL(net, lr=lr, update=update)).train_sequence(x, y, target_mask)
