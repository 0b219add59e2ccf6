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

The steps run in NumPy, vectorised over the batch; ``lstm.py``'s Numba kernels stay the path of the
plain cell. A masked step carries h and c unchanged and sends their errors on unchanged, as there.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

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
    ax_hat: np.ndarray | None   # (T, B, 4H) LN(a_x)
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


def forward(cell, params, x, state0, mask, rng):
    """(T1)-(T11) over all steps; returns ``(y, stateT, cache)``."""
    o = cell.options
    T, B, I = x.shape
    H, P = cell.hidden_size, cell.output_size
    dt = x.dtype
    sig, g_in, h_out = (cell._acts[k] for k in ("gate_activation", "cell_input_activation", "cell_output_activation"))
    ln = o["layer_norm"]
    pe = params["p"] if o["peepholes"] else np.zeros((3, H), dtype=dt)
    noise = draw(o, rng, T, B, I, H, P, dt)
    xd = x * noise.mx if noise.mx is not None else x                                # (T1)
    Rd = params["R"] * noise.MR if noise.MR is not None else params["R"]            # (T2), (4H, P)
    ax = (xd.reshape(T * B, I) @ params["W"].T).reshape(T, B, 4 * H)                # (T3), all steps at once
    ax_hat, ax_inv = _ln(ax) if ln else (None, None)
    ux = ax_hat * params["ln_gx"] if ln else ax                                     # (T4), input part
    hs = np.empty((T + 1, B, P), dtype=dt)
    cs = np.empty((T + 1, B, H), dtype=dt)
    hs[0], cs[0] = state0[0], state0[1]
    hd = np.empty((T, B, P), dtype=dt)
    ah_hat = np.empty((T, B, 4 * H), dtype=dt) if ln else None
    ah_inv = np.empty((T, B, 1), dtype=dt) if ln else None
    acts = np.empty((T, B, 4 * H), dtype=dt)
    ct = np.empty((T, B, H), dtype=dt)
    n_hat = np.empty((T, B, H), dtype=dt) if ln else None
    n_inv = np.empty((T, B, 1), dtype=dt) if ln else None
    s = np.empty((T, B, H), dtype=dt)
    RdT = np.ascontiguousarray(Rd.T)
    for t in range(T):
        c_prev = cs[t]
        hd[t] = hs[t] * noise.mh if noise.mh is not None else hs[t]                 # (T3)
        ah = hd[t] @ RdT                                                            # (T3), (B, 4H)
        if ln:
            ah_hat[t], ah_inv[t] = _ln(ah)
            ah = ah_hat[t] * params["ln_gh"]
        net = ux[t] + ah + params["b"]                                              # (T4)
        i = sig(net[:, :H] + pe[0] * c_prev)                                        # (T5)
        f = sig(net[:, H:2 * H] + pe[1] * c_prev)                                   # (T5)
        z = g_in(net[:, 2 * H:3 * H])                                               # (T5)
        ct[t] = f * c_prev + i * z                                                  # (T6)
        og = sig(net[:, 3 * H:] + pe[2] * ct[t])                                    # (T7)
        if ln:
            n_hat[t], n_inv[t] = _ln(ct[t])
            n = n_hat[t] * params["ln_gc"] + params["ln_bc"]                        # (T8)
        else:
            n = ct[t]
        s[t] = h_out(n)                                                             # (T8)
        m = og * s[t]                                                               # (T9)
        h_new = m @ params["Wr"].T if o["proj_size"] else m                  # (T9)
        c_new = ct[t]
        if noise.dc is not None:
            c_new = noise.dc[t] * c_prev + (1.0 - noise.dc[t]) * c_new              # (T10)
        if noise.dh is not None:
            h_new = noise.dh[t] * hs[t] + (1.0 - noise.dh[t]) * h_new               # (T11)
        acts[t] = np.concatenate([i, f, z, og], axis=1)
        v = mask[t][:, None]                                                        # padding carries the state
        cs[t + 1] = np.where(v, c_new, c_prev)
        hs[t + 1] = np.where(v, h_new, hs[t])
    y = hs[1:] * mask[:, :, None]
    cache = Cache(mask, noise, xd, Rd, ax_hat, ax_inv, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s)
    return y, (hs[T].copy(), cs[T].copy()), cache


def backward(cell, params, cache, dy, dstate, grads, truncated):
    """(T11')-(T1'): accumulate into ``grads``; return ``(dx, (dh0, dc0))``."""
    if truncated:
        raise ValueError("lstm: the 1997 truncated gradient is not defined for "
                         f"{', '.join(k for k in OPTIONS if cell.options[k])}; fix: full BPTT (truncated=False)")
    o = cell.options
    mask, noise, xd, Rd, ax_hat, ax_inv, hs, cs, hd, ah_hat, ah_inv, acts, ct, n_hat, n_inv, s = cache
    T, B, P = dy.shape
    H = cell.hidden_size
    dt = hs.dtype
    sig, g_in, h_out = (cell._acts[k] for k in ("gate_activation", "cell_input_activation", "cell_output_activation"))
    ln, proj, peep = o["layer_norm"], bool(o["proj_size"]), o["peepholes"]
    pe = params["p"] if peep else np.zeros((3, H), dtype=dt)
    dh = np.zeros((B, P), dtype=dt) if dstate[0] is None else np.array(dstate[0], dtype=dt)   # error at h(t)
    dc = np.zeros((B, H), dtype=dt) if dstate[1] is None else np.array(dstate[1], dtype=dt)   # error at c(t)
    dnet_all = np.empty((T, B, 4 * H), dtype=dt)                                    # error at net, all steps
    dRd = np.zeros_like(Rd)
    dp = np.zeros((3, H), dtype=dt)
    for t in range(T - 1, -1, -1):
        v = mask[t][:, None].astype(dt)
        c_prev = cs[t]
        i, f, z, og = (acts[t, :, k * H:(k + 1) * H] for k in range(4))
        Eh = (dh + dy[t]) * v                                                       # masked rows: carried below
        Ec = dc * v
        d_ht, dh_prev = (Eh * (1.0 - noise.dh[t]), Eh * noise.dh[t]) if noise.dh is not None else (Eh, 0.0)  # (T11')
        d_ct, dc_prev = (Ec * (1.0 - noise.dc[t]), Ec * noise.dc[t]) if noise.dc is not None else (Ec, 0.0)  # (T10')
        if proj:
            m = og * s[t]
            grads["Wr"] += d_ht.T @ m                                               # (T9')
            d_m = d_ht @ params["Wr"]
        else:
            d_m = d_ht
        d_o = d_m * s[t]                                                            # (T9')
        d_n = d_m * og * h_out.deriv_from_output(s[t])                              # (T9'), (T8')
        if ln:
            grads["ln_gc"] += (d_n * n_hat[t]).sum(axis=0)                          # (T8')
            grads["ln_bc"] += d_n.sum(axis=0)
            d_ct = d_ct + _ln_back(d_n * params["ln_gc"], n_hat[t], n_inv[t])
        else:
            d_ct = d_ct + d_n
        d_net_o = d_o * sig.deriv_from_output(og)                                   # (T7')
        d_ct = d_ct + d_net_o * pe[2]                                               # (T7') peephole into c~
        d_net_i = d_ct * z * sig.deriv_from_output(i)                               # (T6'), (T5')
        d_net_f = d_ct * c_prev * sig.deriv_from_output(f)
        d_net_z = d_ct * i * g_in.deriv_from_output(z)
        dc_prev = dc_prev + d_ct * f + d_net_i * pe[0] + d_net_f * pe[1]            # (T6'), (T5') the CEC
        if peep:
            dp[0] += (d_net_i * c_prev).sum(axis=0)
            dp[1] += (d_net_f * c_prev).sum(axis=0)
            dp[2] += (d_net_o * ct[t]).sum(axis=0)
        dnet = dnet_all[t]
        dnet[:, :H], dnet[:, H:2 * H], dnet[:, 2 * H:3 * H], dnet[:, 3 * H:] = d_net_i, d_net_f, d_net_z, d_net_o
        if ln:
            grads["ln_gh"] += (dnet * ah_hat[t]).sum(axis=0)                        # (T4')
            d_ah = _ln_back(dnet * params["ln_gh"], ah_hat[t], ah_inv[t])
        else:
            d_ah = dnet
        dRd += d_ah.T @ hd[t]                                                       # (T3')
        d_hd = d_ah @ Rd
        dh_prev = dh_prev + (d_hd * noise.mh if noise.mh is not None else d_hd)     # (T3')
        dh = dh_prev + dh * (1.0 - v)                                               # padding: pass on unchanged
        dc = dc_prev + dc * (1.0 - v)
    d2 = dnet_all.reshape(T * B, 4 * H)
    grads["b"] += d2.sum(axis=0)                                                    # (T4')
    if ln:
        grads["ln_gx"] += (dnet_all * ax_hat).sum(axis=(0, 1))
        dax = _ln_back(dnet_all * params["ln_gx"], ax_hat, ax_inv).reshape(T * B, 4 * H)
    else:
        dax = d2
    grads["W"] += dax.T @ xd.reshape(T * B, -1)                                     # (T3')
    grads["R"] += dRd * noise.MR if noise.MR is not None else dRd                   # (T2')
    if peep:
        grads["p"] += dp
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
