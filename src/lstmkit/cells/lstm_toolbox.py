"""Today's LSTM toolbox as options of the ``"lstm"`` cell: projection, layer norm, dropout, zoneout.

===================  ==========================================================  =================================
option               what it does                                                paper
===================  ==========================================================  =================================
proj_size = P        h(t) = W_r m(t), a (P, H) projection of the cell outputs;   Sak, Senior & Beaufays 2014
                     R becomes (4H, P) (torch.nn.LSTM's proj_size)               (LSTMP)
layer_norm           LN on the input and recurrent net inputs and on the state   Ba, Kiros & Hinton 2016
input_dropout = p    one dropout mask per sequence on the layer's input x        Gal & Ghahramani 2016
recurrent_dropout    one dropout mask per sequence on h(t-1) where it enters R   Gal & Ghahramani 2016
zoneout_cell = z     each unit of c keeps its old value with probability z       Krueger et al. 2017
zoneout_hidden       the same for h
weight_drop = p      DropConnect on R: one mask on the recurrent weights per     Merity, Keskar & Socher 2018
                     forward (= per mini-batch)                                  (AWD-LSTM)
===================  ==========================================================  =================================

Per step t of one sequence, P = proj_size or H the size of h, (.) the elementwise product::

    x'(t) = x(t) . m_x                 m_x ~ Bernoulli(1-p_x)/(1-p_x), drawn once per sequence         (T1)
    R'    = R . M_R                    M_R ~ Bernoulli(1-p_w)/(1-p_w), drawn once per forward          (T2)
    a_x   = W x'(t),   a_h = R' (h(t-1) . m_h)     m_h like m_x, once per sequence                     (T3)
    net   = LN(a_x) . g_x + LN(a_h) . g_h + b      (layer_norm; else a_x + a_h + b)                    (T4)
    i = sigma(net_i + p_i . c(t-1)),  f = sigma(net_f + p_f . c(t-1)),  z = g(net_z)                    (T5)
    c~    = f . c(t-1) + i . z                     the cell's new state before zoneout                  (T6)
    o     = sigma(net_o + p_o . c~)                                                                     (T7)
    n     = LN(c~) . g_c + beta_c  (layer_norm; else c~),   s = h_act(n)                               (T8)
    m     = o . s,   h~ = W_r m  (proj_size; else h~ = m)                                              (T9)
    c(t)  = d_c . c(t-1) + (1 - d_c) . c~          d_c ~ Bernoulli(z_c), per step and unit             (T10)
    h(t)  = d_h . h(t-1) + (1 - d_h) . h~          d_h ~ Bernoulli(z_h), per step and unit             (T11)
    y(t)  = h(t)

LN(a) = (a - mean(a)) / sqrt(var(a) + eps) over the units of one row (all 4H net inputs at once, as Ba et
al. write it; H for the state), eps = 1e-5. Ba et al. give each LN its own shift; beta_x + beta_h + b are
one shift, kept as b. Gains start at 1, beta_c at 0. The peepholes (optional) are Gers 2002's, as in
``lstm.py``; with zoneout, o and h_act look at c~ (Krueger et al.'s equations).

Evaluation (the network not in training mode, ``rng=None``): no mask is drawn, m_x = m_h = M_R = 1, and
zoneout takes its expectation, d_c = z_c, d_h = z_h. The dropout masks are scaled ("inverted dropout"), so
evaluation needs no rescaling.

Backward, the same symbols in reverse (E_h, E_c = errors reaching h(t), c(t))::

    d_h~ = E_h . (1 - d_h),  to h(t-1): E_h . d_h;   d_c~ = E_c . (1 - d_c),  to c(t-1): E_c . d_c     (T11', T10')
    d_m  = d_h~ W_r,  dW_r += d_h~^T m                                                                 (T9')
    d_o  = d_m . s,   d_n = d_m . o . h_act'(s)                                                         (T9')
    d_c~ += LN'(d_n . g_c)  (or d_n),  dg_c += d_n . LN(c~),  dbeta_c += d_n                            (T8')
    d_net_o = d_o . sigma'(o),  d_c~ += d_net_o . p_o                                                   (T7')
    d_i = d_c~ . z,  d_f = d_c~ . c(t-1),  d_z = d_c~ . i,  to c(t-1): d_c~ . f + d_net_i p_i + d_net_f p_f  (T6', T5')
    d_a_h = LN'(d_net . g_h) (or d_net),  dR' += d_a_h^T (h(t-1) . m_h),  to h(t-1): (d_a_h R') . m_h   (T4', T3')
    after the loop: d_a_x = LN'(d_net . g_x),  dW = d_a_x^T x',  dx = (d_a_x W) . m_x,
                    dR = dR' . M_R                                                       (T4', T3', T2', T1')

with LN'(g) = (g - mean(g) - LN(a) mean(g . LN(a))) / sqrt(var(a) + eps), the gradient through LN.

The input part (T1, T3 for all steps in one product, LN of it) and the weight gradients run in NumPy
as large products; the recurrence runs step by step in the two Numba kernels below, one loop per
equation group, as ``lstm.py``'s. A masked step carries h and c unchanged and sends their errors on
unchanged, as there.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import activations as act
from .._numba import njit

LN_EPS = 1e-5
OPTIONS = ("proj_size", "layer_norm", "input_dropout", "recurrent_dropout", "zoneout_cell", "zoneout_hidden",
           "weight_drop")
RATES = ("input_dropout", "recurrent_dropout", "zoneout_cell", "zoneout_hidden", "weight_drop")
NEEDS = {"input_gate": True, "forget_gate": True, "output_gate": True, "coupled": False,
         "full_gate_recurrence": False}


def active(options: dict) -> bool:
    """True when any toolbox option is on, i.e. when this module computes the cell."""
    return bool(options.get("proj_size") or options.get("layer_norm")) or any(options.get(k) for k in RATES)


def stochastic(options: dict) -> bool:
    """True when training mode draws masks (a dropout or zoneout rate above 0)."""
    return any(options.get(k) for k in RATES)


def check(cell) -> None:
    """Validate the toolbox options of ``cell`` (an LSTMCell); raise ValueError saying expected, got, fix."""
    o = cell.options
    for k in RATES:
        v = o[k]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not 0 <= v < 1:
            raise ValueError(f"lstm: {k} must be a rate in [0, 1), got {v!r}; fix: 0 turns it off, 0.1-0.5 is usual")
    P = o["proj_size"]
    if isinstance(P, bool) or not isinstance(P, (int, np.integer)) or not 0 <= P < cell.hidden_size:
        raise ValueError(f"lstm: proj_size must be an integer in [0, hidden_size) = [0, {cell.hidden_size}), "
                         f"got {P!r}; fix: 0 for no projection, or a size below hidden_size (as torch.nn.LSTM)")
    if not isinstance(o["layer_norm"], (bool, np.bool_)):
        raise ValueError(f"lstm: layer_norm must be True or False, got {o['layer_norm']!r}")
    if not active(o):
        return
    named = [k for k in OPTIONS if o[k]]
    bad = {k: o[k] for k, want in NEEDS.items() if o[k] != want}
    if bad:
        raise ValueError(f"lstm: the toolbox options ({', '.join(named)}) expect the cell with input, forget and "
                         f"output gates (peepholes allowed), got {bad}; fix: drop the variant options, or the "
                         f"toolbox options")
    if o["kernel"] == "fast":
        raise ValueError(f"lstm: kernel='fast' has no {', '.join(named)}; fix: kernel='auto'")


def param_shapes(cell, shapes: dict) -> None:
    """Add W_r and the layer-norm gains and shift to ``shapes``, and size R for the projection."""
    H, P, G = cell.hidden_size, cell.output_size, 4 * cell.hidden_size
    shapes["R"] = (G, P)
    if cell.options["proj_size"]:
        shapes["Wr"] = (P, H)
    if cell.options["layer_norm"]:
        shapes.update({"ln_gx": (G,), "ln_gh": (G,), "ln_gc": (H,), "ln_bc": (H,)})


def init_params(params: dict) -> None:
    """Layer norm starts as the identity: gains 1, shift 0 (Ba et al.)."""
    for k in ("ln_gx", "ln_gh", "ln_gc"):
        if k in params:
            params[k][...] = 1.0
    if "ln_bc" in params:
        params["ln_bc"][...] = 0.0


def _ln(a):
    """LN over the last axis: (a_hat, 1/sqrt(var + eps))."""
    inv = 1.0 / np.sqrt(a.var(axis=-1, keepdims=True) + LN_EPS)
    return (a - a.mean(axis=-1, keepdims=True)) * inv, inv


def _ln_back(g, a_hat, inv):
    """Gradient through LN: inv * (g - mean(g) - a_hat * mean(g * a_hat))."""
    return inv * (g - g.mean(axis=-1, keepdims=True) - a_hat * (g * a_hat).mean(axis=-1, keepdims=True))


class Noise(NamedTuple):
    """The masks of one forward; None where the option is off. Zoneout's are the constants z at evaluation."""

    mx: np.ndarray | None   # (B, I)     input dropout, scaled
    mh: np.ndarray | None   # (B, P)     recurrent dropout, scaled
    MR: np.ndarray | None   # (4H, P)    weight-drop on R, scaled
    dc: np.ndarray | None   # (T, B, H)  zoneout of c: 1 keeps the old value (or z_c at evaluation)
    dh: np.ndarray | None   # (T, B, P)  zoneout of h


def _keep(rng, p, shape, dt):
    return (rng.random(shape) >= p).astype(dt) / (1.0 - p)


def draw(options: dict, rng, T: int, B: int, I: int, H: int, P: int, dt) -> Noise:
    """Masks for one forward, drawn from ``rng`` in the order x, h, R, c, h; ``rng=None`` is evaluation."""
    px, ph, pw = options["input_dropout"], options["recurrent_dropout"], options["weight_drop"]
    zc, zh = options["zoneout_cell"], options["zoneout_hidden"]
    if rng is None:
        return Noise(None, None, None, np.full((T, B, H), zc, dt) if zc else None,
                     np.full((T, B, P), zh, dt) if zh else None)
    return Noise(_keep(rng, px, (B, I), dt) if px else None,
                 _keep(rng, ph, (B, P), dt) if ph else None,
                 _keep(rng, pw, (4 * H, P), dt) if pw else None,
                 (rng.random((T, B, H)) < zc).astype(dt) if zc else None,
                 (rng.random((T, B, P)) < zh).astype(dt) if zh else None)


class Cache(NamedTuple):
    """What backward needs from forward; per-step arrays are (T, B, .)."""

    mask: np.ndarray     # (T, B) bool
    noise: Noise
    xd: np.ndarray       # (T, B, I)    x' = x . m_x
    Rd: np.ndarray       # (4H, P)      R' = R . M_R
    ax_hat: np.ndarray | None   # (T, B, 4H) LN(a_x); the LN arrays are empty without layer_norm
    ax_inv: np.ndarray | None   # (T, B, 1)
    hs: np.ndarray       # (T+1, B, P)  h(0..T)
    cs: np.ndarray       # (T+1, B, H)  c(0..T)
    hd: np.ndarray       # (T, B, P)    h(t-1) . m_h
    ah_hat: np.ndarray | None   # (T, B, 4H) LN(a_h)
    ah_inv: np.ndarray | None   # (T, B, 1)
    acts: np.ndarray     # (T, B, 4H)   i, f, z, o
    ct: np.ndarray       # (T, B, H)    c~
    n_hat: np.ndarray | None    # (T, B, H) LN(c~)
    n_inv: np.ndarray | None    # (T, B, 1)
    s: np.ndarray        # (T, B, H)    h_act(n)
    m: np.ndarray        # (T, B, H)    o . s


@njit
def _ln_row(a, out):
    """out = (a - mean a) / sqrt(var a + eps) for one row; returns 1 / sqrt(var a + eps)."""
    n = a.shape[0]
    mean = 0.0
    for k in range(n):
        mean += a[k]
    mean /= n
    var = 0.0
    for k in range(n):
        var += (a[k] - mean) * (a[k] - mean)
    inv = 1.0 / math.sqrt(var / n + LN_EPS)
    for k in range(n):
        out[k] = (a[k] - mean) * inv
    return inv


@njit
def _ln_back_row(g, a_hat, inv, out):
    """out += inv * (g - mean g - a_hat * mean(g * a_hat)), the error through LN of one row."""
    n = g.shape[0]
    mg = 0.0
    mga = 0.0
    for k in range(n):
        mg += g[k]
        mga += g[k] * a_hat[k]
    mg /= n
    mga /= n
    for k in range(n):
        out[k] += inv * (g[k] - mg - a_hat[k] * mga)


@njit
def _forward_kernel(ux, RdT, bias, pe, gh, gc, bc, WrT, mh, dcz, dhz, mask, ln, proj, use_mh, use_dc, use_dh,
                    codes, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, m):
    """(T3)-(T11) step by step; ux (T, B, 4H) is the input part of (T4). hs[0], cs[0] hold the state."""
    T, B, G = ux.shape
    H = G // 4
    gate, cell_in, cell_out = codes[0], codes[1], codes[2]
    n = np.empty(H, dtype=ux.dtype)
    for t in range(T):
        for b in range(B):
            for k in range(hs.shape[2]):
                hd[t, b, k] = hs[t, b, k] * mh[b, k] if use_mh else hs[t, b, k]          # (T3)
        ah = np.dot(hd[t], RdT)                                                         # (T3), (B, 4H)
        for b in range(B):
            if ln:
                ah_inv[t, b, 0] = _ln_row(ah[b], ah_hat[t, b])
                for k in range(G):
                    ah[b, k] = ah_hat[t, b, k] * gh[k]
            for j in range(H):
                c_prev = cs[t, b, j]
                net_i = ux[t, b, j] + ah[b, j] + bias[j]                                 # (T4)
                net_f = ux[t, b, H + j] + ah[b, H + j] + bias[H + j]
                net_z = ux[t, b, 2 * H + j] + ah[b, 2 * H + j] + bias[2 * H + j]
                i = act.apply(gate, net_i + pe[0, j] * c_prev)                           # (T5)
                f = act.apply(gate, net_f + pe[1, j] * c_prev)
                z = act.apply(cell_in, net_z)
                c_new = f * c_prev + i * z                                               # (T6)
                ct[t, b, j] = c_new
                o = act.apply(gate, ux[t, b, 3 * H + j] + ah[b, 3 * H + j] + bias[3 * H + j]
                              + pe[2, j] * c_new)                                        # (T7)
                acts[t, b, j], acts[t, b, H + j], acts[t, b, 2 * H + j], acts[t, b, 3 * H + j] = i, f, z, o
            if ln:
                n_inv[t, b, 0] = _ln_row(ct[t, b], n_hat[t, b])
                for j in range(H):
                    n[j] = n_hat[t, b, j] * gc[j] + bc[j]                                # (T8)
            else:
                for j in range(H):
                    n[j] = ct[t, b, j]
            for j in range(H):
                s[t, b, j] = act.apply(cell_out, n[j])                                   # (T8)
                m[t, b, j] = acts[t, b, 3 * H + j] * s[t, b, j]                          # (T9)
        ht = np.dot(m[t], WrT) if proj else m[t]                                        # (T9), (B, P)
        for b in range(B):
            real = mask[t, b]                                                           # padding carries the state
            for j in range(H):
                c_new = ct[t, b, j]
                if use_dc:
                    c_new = dcz[t, b, j] * cs[t, b, j] + (1.0 - dcz[t, b, j]) * c_new    # (T10)
                cs[t + 1, b, j] = c_new if real else cs[t, b, j]
            for k in range(hs.shape[2]):
                h_new = ht[b, k]
                if use_dh:
                    h_new = dhz[t, b, k] * hs[t, b, k] + (1.0 - dhz[t, b, k]) * h_new    # (T11)
                hs[t + 1, b, k] = h_new if real else hs[t, b, k]


@njit
def _backward_kernel(dy, Rd, pe, gh, gc, Wr, mh, dcz, dhz, mask, ln, proj, use_mh, use_dc, use_dh, codes,
                     cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, dh, dc, dnet, dn_all, dht_all, dah_all):
    """(T11')-(T3') step by step, filling the per-step errors that the weight gradients need.

    dh (B, P) and dc (B, H) come in holding the error at the final state and leave holding the error
    at the initial state. dnet: error at the net inputs; dn_all: at n (T8'); dht_all: at h~ (T9');
    dah_all: at a_h (T4'), all (T, B, .).
    """
    T, B, P = dy.shape
    G = dnet.shape[2]
    H = G // 4
    gate, cell_in, cell_out = codes[0], codes[1], codes[2]
    g = np.empty(max(G, H), dtype=dy.dtype)
    d_ct = np.empty(H, dtype=dy.dtype)
    dc_prev = np.empty((B, H), dtype=dy.dtype)
    dh_prev = np.empty((B, P), dtype=dy.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            v = 1.0 if mask[t, b] else 0.0
            for k in range(P):
                eh = (dh[b, k] + dy[t, b, k]) * v                                        # masked: carried below
                dht_all[t, b, k] = eh * (1.0 - dhz[t, b, k]) if use_dh else eh          # (T11')
                dh_prev[b, k] = eh * dhz[t, b, k] if use_dh else 0.0
        d_m = np.dot(dht_all[t], Wr) if proj else dht_all[t]                            # (T9'), (B, H)
        for b in range(B):
            v = 1.0 if mask[t, b] else 0.0
            for j in range(H):
                ec = dc[b, j] * v
                d_ct[j] = ec * (1.0 - dcz[t, b, j]) if use_dc else ec                   # (T10')
                dc_prev[b, j] = ec * dcz[t, b, j] if use_dc else 0.0
                o = acts[t, b, 3 * H + j]
                dn_all[t, b, j] = d_m[b, j] * o * act.deriv(cell_out, s[t, b, j])       # (T9'), (T8')
            if ln:
                for j in range(H):
                    g[j] = dn_all[t, b, j] * gc[j]
                _ln_back_row(g[:H], n_hat[t, b], n_inv[t, b, 0], d_ct)                  # (T8')
            else:
                for j in range(H):
                    d_ct[j] += dn_all[t, b, j]
            for j in range(H):
                c_prev = cs[t, b, j]
                i, f, z, o = acts[t, b, j], acts[t, b, H + j], acts[t, b, 2 * H + j], acts[t, b, 3 * H + j]
                d_net_o = d_m[b, j] * s[t, b, j] * act.deriv(gate, o)                   # (T9'), (T7')
                dcj = d_ct[j] + d_net_o * pe[2, j]                                       # (T7') peephole into c~
                d_net_i = dcj * z * act.deriv(gate, i)                                   # (T6'), (T5')
                d_net_f = dcj * c_prev * act.deriv(gate, f)
                d_net_z = dcj * i * act.deriv(cell_in, z)
                dc_prev[b, j] += dcj * f + d_net_i * pe[0, j] + d_net_f * pe[1, j]      # the CEC
                dnet[t, b, j], dnet[t, b, H + j], dnet[t, b, 2 * H + j], dnet[t, b, 3 * H + j] = (
                    d_net_i, d_net_f, d_net_z, d_net_o)
            if ln:
                for k in range(G):
                    g[k] = dnet[t, b, k] * gh[k]
                    dah_all[t, b, k] = 0.0
                _ln_back_row(g[:G], ah_hat[t, b], ah_inv[t, b, 0], dah_all[t, b])       # (T4')
            else:
                for k in range(G):
                    dah_all[t, b, k] = dnet[t, b, k]
        d_hd = np.dot(dah_all[t], Rd)                                                   # (T3'), (B, P)
        for b in range(B):
            v = 1.0 if mask[t, b] else 0.0
            for k in range(P):
                dhk = dh_prev[b, k] + (d_hd[b, k] * mh[b, k] if use_mh else d_hd[b, k])  # (T3')
                dh[b, k] = dhk + dh[b, k] * (1.0 - v)                                    # padding: passed on
            for j in range(H):
                dc[b, j] = dc_prev[b, j] + dc[b, j] * (1.0 - v)


_BY_CODE = {a.code: a for a in act.ACTIVATIONS.values()}


def _forward_steps_numpy(ux, RdT, bias, pe, gh, gc, bc, WrT, mh, dcz, dhz, mask, ln, proj, use_mh, use_dc, use_dh,
                         codes, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, m):
    """:func:`_forward_kernel` vectorised over the batch with NumPy's ufuncs (faster for large B x H)."""
    sig, g_in, h_out = (_BY_CODE[int(c)] for c in codes)
    T, B, G = ux.shape
    H = G // 4
    for t in range(T):
        c_prev = cs[t]
        hd[t] = hs[t] * mh if use_mh else hs[t]                                     # (T3)
        ah = hd[t] @ RdT                                                            # (T3), (B, 4H)
        if ln:
            ah_hat[t], ah_inv[t] = _ln(ah)
            ah = ah_hat[t] * gh
        net = ux[t] + ah + bias                                                     # (T4)
        i = sig(net[:, :H] + pe[0] * c_prev)                                        # (T5)
        f = sig(net[:, H:2 * H] + pe[1] * c_prev)
        z = g_in(net[:, 2 * H:3 * H])
        ct[t] = f * c_prev + i * z                                                  # (T6)
        og = sig(net[:, 3 * H:] + pe[2] * ct[t])                                    # (T7)
        acts[t, :, :H], acts[t, :, H:2 * H], acts[t, :, 2 * H:3 * H], acts[t, :, 3 * H:] = i, f, z, og
        if ln:
            n_hat[t], n_inv[t] = _ln(ct[t])
            n = n_hat[t] * gc + bc                                                  # (T8)
        else:
            n = ct[t]
        s[t] = h_out(n)                                                             # (T8)
        m[t] = og * s[t]                                                            # (T9)
        ht = m[t] @ WrT if proj else m[t]                                           # (T9)
        c_new = dcz[t] * c_prev + (1.0 - dcz[t]) * ct[t] if use_dc else ct[t]      # (T10)
        h_new = dhz[t] * hs[t] + (1.0 - dhz[t]) * ht if use_dh else ht             # (T11)
        v = mask[t][:, None]                                                        # padding carries the state
        cs[t + 1] = np.where(v, c_new, c_prev)
        hs[t + 1] = np.where(v, h_new, hs[t])


def _backward_steps_numpy(dy, Rd, pe, gh, gc, Wr, mh, dcz, dhz, mask, ln, proj, use_mh, use_dc, use_dh, codes,
                          cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, dh, dc, dnet, dn_all, dht_all, dah_all):
    """:func:`_backward_kernel` vectorised over the batch with NumPy's ufuncs."""
    sig, g_in, h_out = (_BY_CODE[int(c)] for c in codes)
    T, B, P = dy.shape
    H = dnet.shape[2] // 4
    for t in range(T - 1, -1, -1):
        v = mask[t][:, None].astype(dy.dtype)
        eh = (dh + dy[t]) * v                                                       # masked: carried below
        ec = dc * v
        dht_all[t] = eh * (1.0 - dhz[t]) if use_dh else eh                          # (T11')
        dh_prev = eh * dhz[t] if use_dh else 0.0
        d_ct = ec * (1.0 - dcz[t]) if use_dc else ec                                # (T10')
        dc_prev = ec * dcz[t] if use_dc else 0.0
        d_m = dht_all[t] @ Wr if proj else dht_all[t]                               # (T9')
        i, f, z, og = (acts[t, :, k * H:(k + 1) * H] for k in range(4))
        dn_all[t] = d_m * og * h_out.deriv_from_output(s[t])                        # (T9'), (T8')
        d_ct = d_ct + (_ln_back(dn_all[t] * gc, n_hat[t], n_inv[t]) if ln else dn_all[t])   # (T8')
        d_net_o = d_m * s[t] * sig.deriv_from_output(og)                            # (T9'), (T7')
        d_ct = d_ct + d_net_o * pe[2]                                               # (T7') peephole into c~
        d_net_i = d_ct * z * sig.deriv_from_output(i)                               # (T6'), (T5')
        d_net_f = d_ct * cs[t] * sig.deriv_from_output(f)
        d_net_z = d_ct * i * g_in.deriv_from_output(z)
        dc_prev = dc_prev + d_ct * f + d_net_i * pe[0] + d_net_f * pe[1]            # the CEC
        dnet[t, :, :H], dnet[t, :, H:2 * H], dnet[t, :, 2 * H:3 * H], dnet[t, :, 3 * H:] = (
            d_net_i, d_net_f, d_net_z, d_net_o)
        dah_all[t] = _ln_back(dnet[t] * gh, ah_hat[t], ah_inv[t]) if ln else dnet[t]   # (T4')
        d_hd = dah_all[t] @ Rd                                                      # (T3')
        dh[...] = dh_prev + (d_hd * mh if use_mh else d_hd) + dh * (1.0 - v)        # padding: passed on
        dc[...] = dc_prev + dc * (1.0 - v)


# The step loop: Numba's scalar loops beat NumPy's per-call overhead on small batches x cells, NumPy's
# vectorised exp and tanh win on large ones (benchmarks/bench_toolbox.py measures both: Numba 1.1-2.3x
# faster at B x H = 1024, NumPy 1.3-1.6x faster at 4096). Both compute (T3)-(T11) in the same order.
NUMPY_FROM = 2048        # B x H from which the NumPy loop runs
STEPS = {"numba": (_forward_kernel, _backward_kernel), "numpy": (_forward_steps_numpy, _backward_steps_numpy)}


def _steps(B: int, H: int):
    return STEPS["numpy" if B * H >= NUMPY_FROM else "numba"]


def _arg(a, shape, dt):
    """``a`` as a contiguous kernel argument, or a placeholder of ``shape`` (zeros) when the option is off."""
    return np.zeros(shape, dtype=dt) if a is None else np.ascontiguousarray(a, dtype=dt)


def forward(cell, params, x, state0, mask, rng):
    """(T1)-(T11) over all steps; returns ``(y, stateT, cache)``."""
    o = cell.options
    T, B, I = x.shape
    H, P = cell.hidden_size, cell.output_size
    dt = x.dtype
    ln, proj = bool(o["layer_norm"]), bool(o["proj_size"])
    noise = draw(o, rng, T, B, I, H, P, dt)
    xd = x * noise.mx if noise.mx is not None else x                                # (T1)
    Rd = params["R"] * noise.MR if noise.MR is not None else params["R"]            # (T2), (4H, P)
    ax = (xd.reshape(T * B, I) @ params["W"].T).reshape(T, B, 4 * H)                # (T3), all steps at once
    ax_hat, ax_inv = _ln(ax) if ln else (None, None)
    ux = ax_hat * params["ln_gx"] if ln else ax                                     # (T4), input part
    hs = np.empty((T + 1, B, P), dtype=dt)                                          # h(0..T)
    cs = np.empty((T + 1, B, H), dtype=dt)                                          # c(0..T)
    hs[0], cs[0] = state0[0], state0[1]
    hd = np.empty((T, B, P), dtype=dt)                                              # h(t-1) . m_h
    ah_hat = np.empty((T, B, 4 * H) if ln else (0, 0, 0), dtype=dt)
    ah_inv = np.empty((T, B, 1) if ln else (0, 0, 0), dtype=dt)
    acts = np.empty((T, B, 4 * H), dtype=dt)                                        # i, f, z, o
    ct = np.empty((T, B, H), dtype=dt)                                              # c~
    n_hat = np.empty((T, B, H) if ln else (0, 0, 0), dtype=dt)
    n_inv = np.empty((T, B, 1) if ln else (0, 0, 0), dtype=dt)
    s = np.empty((T, B, H), dtype=dt)                                               # h_act(n)
    m = np.empty((T, B, H), dtype=dt)                                               # o . s
    _steps(B, H)[0](np.ascontiguousarray(ux, dtype=dt), np.ascontiguousarray(Rd.T), params["b"],
                    _arg(params.get("p"), (3, H), dt), _arg(params.get("ln_gh"), (4 * H,), dt),
                    _arg(params.get("ln_gc"), (H,), dt), _arg(params.get("ln_bc"), (H,), dt),
                    _arg(params["Wr"].T if proj else None, (1, 1), dt),
                    _arg(noise.mh, (1, 1), dt), _arg(noise.dc, (1, 1, 1), dt), _arg(noise.dh, (1, 1, 1), dt),
                    mask, ln, proj, noise.mh is not None, noise.dc is not None, noise.dh is not None,
                    cell._codes, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, m)
    y = hs[1:] * mask[:, :, None]
    cache = Cache(mask, noise, xd, Rd, ax_hat, ax_inv, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, m)
    return y, (hs[T].copy(), cs[T].copy()), cache


def backward(cell, params, cache, dy, dstate, grads, truncated):
    """(T11')-(T1'): accumulate into ``grads``; return ``(dx, (dh0, dc0))``."""
    if truncated:
        raise ValueError("lstm: the 1997 truncated gradient is not defined for "
                         f"{', '.join(k for k in OPTIONS if cell.options[k])}; fix: full BPTT (truncated=False)")
    o = cell.options
    mask, noise, xd, Rd, ax_hat, ax_inv, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, m = cache
    T, B, P = dy.shape
    H = cell.hidden_size
    dt = hs.dtype
    ln, proj, peep = bool(o["layer_norm"]), bool(o["proj_size"]), o["peepholes"]
    dh = np.zeros((B, P), dtype=dt) if dstate[0] is None else np.array(dstate[0], dtype=dt)   # error at h(T)
    dc = np.zeros((B, H), dtype=dt) if dstate[1] is None else np.array(dstate[1], dtype=dt)   # error at c(T)
    dnet = np.empty((T, B, 4 * H), dtype=dt)                                        # error at net, all steps
    dn_all = np.empty((T, B, H), dtype=dt)                                          # error at n
    dht_all = np.empty((T, B, P), dtype=dt)                                         # error at h~
    dah_all = np.empty((T, B, 4 * H), dtype=dt)                                     # error at a_h
    _steps(B, H)[1](np.ascontiguousarray(dy, dtype=dt), np.ascontiguousarray(Rd),
                     _arg(params.get("p"), (3, H), dt), _arg(params.get("ln_gh"), (4 * H,), dt),
                     _arg(params.get("ln_gc"), (H,), dt), _arg(params["Wr"] if proj else None, (1, 1), dt),
                     _arg(noise.mh, (1, 1), dt), _arg(noise.dc, (1, 1, 1), dt), _arg(noise.dh, (1, 1, 1), dt),
                     mask, ln, proj, noise.mh is not None, noise.dc is not None, noise.dh is not None,
                     cell._codes, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s, dh, dc, dnet, dn_all,
                     dht_all, dah_all)
    # Weight gradients as large products over all steps at once.
    TB = T * B
    if proj:
        grads["Wr"] += dht_all.reshape(TB, P).T @ m.reshape(TB, H)                  # (T9')
    if ln:
        grads["ln_gc"] += (dn_all * n_hat).sum(axis=(0, 1))                         # (T8')
        grads["ln_bc"] += dn_all.sum(axis=(0, 1))
        grads["ln_gh"] += (dnet * ah_hat).sum(axis=(0, 1))                          # (T4')
    if peep:
        grads["p"][0] += (dnet[:, :, :H] * cs[:-1]).sum(axis=(0, 1))               # (T5') i, f see c(t-1)
        grads["p"][1] += (dnet[:, :, H:2 * H] * cs[:-1]).sum(axis=(0, 1))
        grads["p"][2] += (dnet[:, :, 3 * H:] * ct).sum(axis=(0, 1))                 # (T7') o sees c~
    dRd = dah_all.reshape(TB, 4 * H).T @ hd.reshape(TB, P)                          # (T3')
    grads["R"] += dRd * noise.MR if noise.MR is not None else dRd                   # (T2')
    d2 = dnet.reshape(TB, 4 * H)
    grads["b"] += d2.sum(axis=0)                                                    # (T4')
    if ln:
        grads["ln_gx"] += (dnet * ax_hat).sum(axis=(0, 1))
        dax = _ln_back(dnet * params["ln_gx"], ax_hat, ax_inv).reshape(TB, 4 * H)
    else:
        dax = d2
    grads["W"] += dax.T @ xd.reshape(TB, -1)                                        # (T3')
    dx = (dax @ params["W"]).reshape(T, B, -1)
    if noise.mx is not None:
        dx *= noise.mx                                                              # (T1')
    return dx, (dh, dc)


def internals(cell, cache) -> dict:
    """i, f, z, o, c, h of the last forward, each (T, B, .), zero at masked steps."""
    H = cell.hidden_size
    m = cache.mask[:, :, None]
    out = {k: cache.acts[:, :, n * H:(n + 1) * H] * m for n, k in enumerate(("i", "f", "z", "o"))}
    out["c"] = cache.cs[1:] * m
    out["h"] = cache.hs[1:] * m
    return out
