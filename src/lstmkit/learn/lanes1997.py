"""The 1997 rule for many trials at once: one kernel call advances L independent nets of one topology.

A reproduction runs 10-30 trials of every table row: the same net, different weights, data and seeds.
One trial alone is a chain of short dependent loops (93 weights on the Exp 4 net); L trials side by side
give every loop of :mod:`lstmkit.learn.rtrl1997` a loop over *lanes*, meant for SIMD instructions and for
paying Python's per-call overhead once for L trials. Every array of the single-trial kernel gets a last
axis of length L::

    w        (W, L)      the L nets' flat weights, lane l = trial l's ``model.flat``
    A_c      (H, M, L)   the accumulators of eqs. 25, 27 (and A_in, A_f, A_pin, A_pf) per lane
    r, s     (N, L), (H, L)

Measured (benchmarks/bench_lanes.py): 1.3-1.6x one trial at a time on the Exp 1 and 2c nets, 0.85-1.05x
on the Exp 4 and 6 nets; far from SIMD speed, because the squashing stays scalar ``math.exp`` (see
Exactness) and Numba's LLVM leaves loops of 8-16 lanes mostly scalar. Not yet used by the runner.

Each lane runs its own *program*: a list of sequences, concatenated in time. ``start[t, l]`` marks the
first step of a sequence (state and accumulators of lane l are zeroed there, as the single-trial
learner does for every sequence) and lanes whose program is shorter idle through the padding steps at
the end (no targets there, so nothing they compute is kept). Inputs are one-hot indices or dense rows
per lane; a lane's nonzero inputs are gathered lane by lane, everything else runs across lanes.

Exactness. Per lane the kernel performs the single-trial kernel's floating-point operations in the
same order: the same sums (bias, then the nonzero inputs in index order, then the recurrent sources),
the same activations (scalar ``math.exp`` per lane: no vector exp whose bits could differ), the same
weight changes, and a lane without a target at a step skips the target-step block as the single
kernel does. So lane l's losses, outputs and final weights are bit for bit those of
``RTRL1997(model_l).train_sequence`` over its sequences (tests/test_lanes1997.py holds them equal).
Lanes never read each other's numbers.

Scope: float64 nets of :class:`~lstmkit.learn.rtrl1997.RTRL1997` (every topology of the paper's rows),
update "step" or "sequence", no momentum, a reset at every sequence start (the reproduction's trials).
"""
from __future__ import annotations

import numpy as np

from .. import activations as act
from .._numba import njit
from .rtrl1997 import (_CODE_G, _CODE_H, _CODE_O, _FO, _H, _HAS_F, _HAS_OUT, _HAS_PEEP, _I, _K, _N, _NHID, _NR,
                       _OBO, _OPF, _OPIN, _OPOUT, _OR, _OW, _OWO, _S, _SHORT, UPDATES, SequenceResult, _Layout,
                       specialise)


@njit
def _lanes_kernel(w, G, lr, seq_update, cfg, off, bias_at, x, onehot, y, tmask, start, end, n_steps,
                  out_rec, loss_rec):
    """Advance every lane through its program; see the module docstring.

    ``w`` (W, L) weights, changed in place (update "step": at each target step, -lr dE/dw; update
    "sequence", ``seq_update``: dE/dw summed in ``G`` (W, L) and applied at the sequence's last step,
    ``end``). ``x`` (T, I, L) dense inputs or (0, I, L); ``onehot`` (T, L) indices (-1: all zero) or
    (0, L); ``y`` (T, K, L); ``tmask``, ``start``, ``end`` (T, L); ``n_steps`` (L,) the length of each
    lane's program. Outputs at target steps go to ``out_rec`` (n_targets, K, L) in order, each
    sequence's 1/2 SSE to ``loss_rec`` (n_sequences, L).
    """
    I = cfg[_I]
    N = cfg[_N]
    H = cfg[_H]
    S = cfg[_S]
    n_hid = cfg[_NHID]
    K = cfg[_K]
    Fo = cfg[_FO]
    has_f = cfg[_HAS_F]
    has_out = cfg[_HAS_OUT]
    has_peep = cfg[_HAS_PEEP]
    Nr = cfg[_NR]
    shortcut = cfg[_SHORT]
    code_g = cfg[_CODE_G]
    code_h = cfg[_CODE_H]
    code_o = cfg[_CODE_O]
    oW = off[_OW]
    oR = off[_OR]
    op_in = off[_OPIN]
    op_f = off[_OPF]
    op_out = off[_OPOUT]
    oWo = off[_OWO]
    obo = off[_OBO]
    C = H // S
    o_in = H
    o_f = H + C
    o_out = H + C * (1 + has_f)
    o_hid = H + C * (1 + has_f + has_out)
    F = H + n_hid
    M = I + Nr + 1
    L = w.shape[1]
    T = tmask.shape[0]
    use_onehot = onehot.shape[0] > 0
    dt = w.dtype
    scale = 1.0 if seq_update else -lr
    dest = G if seq_update else w        # where dE/dw goes: the gradient buffer, or the weights at once

    # State and accumulators, per lane; the scratch of one step.
    r_prev = np.zeros((N, L), dtype=dt)
    s_prev = np.zeros((H, L), dtype=dt)
    A_c = np.zeros((H, M, L), dtype=dt)
    A_in = np.zeros((H, M, L), dtype=dt)
    A_f = np.zeros((H, M if has_f else 0, L), dtype=dt)
    A_pin = np.zeros((H, S, L), dtype=dt)
    A_pf = np.zeros((H, S, L), dtype=dt)
    net = np.empty((N, L), dtype=dt)
    r_cur = np.zeros((N, L), dtype=dt)
    s_new = np.empty((H, L), dtype=dt)
    gc = np.empty((H, L), dtype=dt)
    hs = np.empty((H, L), dtype=dt)
    yin = np.empty((C, L), dtype=dt)
    yf = np.ones((C, L), dtype=dt)
    yout = np.ones((C, L), dtype=dt)
    nz_idx = np.zeros((L, max(I, 1)), dtype=np.int64)
    nz_val = np.zeros((L, max(I, 1)), dtype=dt)
    nnz = np.zeros(L, dtype=np.int64)
    e = np.zeros((K, L), dtype=dt)
    dh = np.zeros((F, L), dtype=dt)
    e_s = np.zeros((H, L), dtype=dt)
    e_out = np.zeros((C, L), dtype=dt)
    e_hid = np.zeros((n_hid, L), dtype=dt)
    loc_c = np.zeros(L, dtype=dt)        # local factors of eqs. 27, 25 and Gers 2000's, per lane
    loc_i = np.zeros(L, dtype=dt)
    loc_f = np.zeros(L, dtype=dt)
    n_t = np.zeros(L, dtype=np.int64)    # target steps so far, per lane
    seq = np.full(L, -1, dtype=np.int64)  # the current sequence, per lane

    for t in range(T):
        # ---- sequence starts: zero this lane's state, accumulators (and gradient)
        for l in range(L):
            if t < n_steps[l] and start[t, l]:
                seq[l] += 1
                for u in range(N):
                    r_prev[u, l] = 0.0
                for i in range(H):
                    s_prev[i, l] = 0.0
                    for m in range(M):
                        A_c[i, m, l] = 0.0
                        A_in[i, m, l] = 0.0
                    for m in range(A_f.shape[1]):
                        A_f[i, m, l] = 0.0
                    for v in range(S):
                        A_pin[i, v, l] = 0.0
                        A_pf[i, v, l] = 0.0
                if seq_update:
                    for p in range(G.shape[0]):
                        G[p, l] = 0.0
        # ---- this step's nonzero inputs, lane by lane
        for l in range(L):
            c = 0
            if use_onehot:
                m = onehot[t, l]
                if m >= 0:
                    nz_idx[l, 0] = m
                    nz_val[l, 0] = 1.0
                    c = 1
            else:
                for m in range(I):
                    v_ = x[t, m, l]
                    if v_ != 0.0:
                        nz_idx[l, c] = m
                        nz_val[l, c] = v_
                        c += 1
            nnz[l] = c

        # ---- forward (6-9): bias and nonzero inputs lane by lane, then the recurrent sources across
        # lanes; per lane the single kernel's order of additions
        for l in range(L):
            for u in range(N):
                b_at = bias_at[u]
                a = w[b_at, l] if b_at >= 0 else 0.0
                base = oW + u * I
                for q in range(nnz[l]):
                    a += w[base + nz_idx[l, q], l] * nz_val[l, q]
                net[u, l] = a
        if Nr:
            for u in range(N):
                base = oR + u * Nr
                for l in range(L):
                    a = net[u, l]
                    for k in range(Nr):
                        a += w[base + k, l] * r_prev[k, l]
                    net[u, l] = a
        for l in range(L):                                                  # the squashing: scalar exp
            for j in range(C):
                a_in = net[o_in + j, l]
                a_f = net[o_f + j, l] if has_f else 0.0
                if has_peep:
                    for v in range(S):
                        i = j * S + v
                        a_in += w[op_in + i, l] * s_prev[i, l]              # (G02) peephole from s(t-1)
                        if has_f:
                            a_f += w[op_f + i, l] * s_prev[i, l]
                y_in = act.apply(act.LOGISTIC, a_in)                        # (7)
                yin[j, l] = y_in
                r_cur[o_in + j, l] = y_in
                y_f = 1.0
                if has_f:
                    y_f = act.apply(act.LOGISTIC, a_f)                      # (G00)
                    yf[j, l] = y_f
                    r_cur[o_f + j, l] = y_f
                for v in range(S):
                    i = j * S + v
                    g_ = act.apply(code_g, net[i, l])
                    gc[i, l] = g_
                    s = y_f * s_prev[i, l] + y_in * g_                      # CEC (A.1; G00)
                    s_new[i, l] = s
                    hs[i, l] = act.apply(code_h, s)
                y_out = 1.0
                if has_out:
                    a_out = net[o_out + j, l]
                    if has_peep:
                        for v in range(S):
                            i = j * S + v
                            a_out += w[op_out + i, l] * s_new[i, l]         # (G02) peephole from s(t)
                    y_out = act.apply(act.LOGISTIC, a_out)                  # (8)
                    yout[j, l] = y_out
                    r_cur[o_out + j, l] = y_out
                for v in range(S):
                    i = j * S + v
                    r_cur[i, l] = y_out * hs[i, l]                          # cell output (A.1)
            for k in range(n_hid):
                r_cur[o_hid + k, l] = act.apply(act.LOGISTIC, net[o_hid + k, l])

        # ---- forward-accumulated derivatives of the cell states (25, 27; Gers 2000/2002)
        for j in range(C):
            for v in range(S):
                i = j * S + v
                for l in range(L):
                    y_in = yin[j, l]
                    d_in = y_in * (1.0 - y_in)
                    y_f = yf[j, l]
                    d_f = y_f * (1.0 - y_f)
                    loc_c[l] = y_in * act.deriv(code_g, gc[i, l])           # (27) local factor
                    loc_i[l] = gc[i, l] * d_in                              # (25) local factor
                    loc_f[l] = s_prev[i, l] * d_f                           # (G00) local factor
                if has_f:
                    for l in range(L):                                      # the decay touches every source
                        y_f = yf[j, l]
                        for m in range(M):
                            A_c[i, m, l] *= y_f
                            A_in[i, m, l] *= y_f
                            A_f[i, m, l] *= y_f
                    for l in range(L):
                        for q in range(nnz[l]):
                            A_f[i, nz_idx[l, q], l] += loc_f[l] * nz_val[l, q]
                    for l in range(L):
                        lf = loc_f[l]
                        for k in range(Nr):
                            A_f[i, I + k, l] += lf * r_prev[k, l]
                        A_f[i, I + Nr, l] += lf
                for l in range(L):                                          # zero inputs add nothing
                    for q in range(nnz[l]):
                        m = nz_idx[l, q]
                        A_c[i, m, l] += loc_c[l] * nz_val[l, q]
                        A_in[i, m, l] += loc_i[l] * nz_val[l, q]
                for l in range(L):
                    lc = loc_c[l]
                    li = loc_i[l]
                    for k in range(Nr):
                        A_c[i, I + k, l] += lc * r_prev[k, l]
                        A_in[i, I + k, l] += li * r_prev[k, l]
                    A_c[i, I + Nr, l] += lc
                    A_in[i, I + Nr, l] += li
                if has_peep:                                                # peephole weights as gate inputs
                    for l in range(L):
                        for v2 in range(S):
                            sp = s_prev[j * S + v2, l]
                            A_pin[i, v2, l] = yf[j, l] * A_pin[i, v2, l] + loc_i[l] * sp
                            if has_f:
                                A_pf[i, v2, l] = yf[j, l] * A_pf[i, v2, l] + loc_f[l] * sp

        # ---- errors and weight changes at a target step, in the lanes that have one
        for l in range(L):
            if not (t < n_steps[l] and tmask[t, l]):
                continue
            for k in range(K):
                row = oWo + k * Fo
                z = w[obo + k, l] if obo >= 0 else 0.0
                for u in range(H):
                    z += w[row + u, l] * r_cur[u, l]
                for u in range(n_hid):
                    z += w[row + H + u, l] * r_cur[o_hid + u, l]
                if shortcut:
                    for q in range(nnz[l]):
                        z += w[row + F + nz_idx[l, q], l] * nz_val[l, q]
                o = act.apply(code_o, z)
                out_rec[n_t[l], k, l] = o
                diff = o - y[t, k, l]
                loss_rec[seq[l], l] += 0.5 * diff * diff
                e[k, l] = diff * act.deriv(code_o, o)                       # (19), gradient sign
            n_t[l] += 1
            for u in range(F):
                a = 0.0
                for k in range(K):
                    a += w[oWo + k * Fo + u, l] * e[k, l]
                dh[u, l] = a
            for j in range(C):
                y_out = yout[j, l]
                d_yout = 0.0
                for v in range(S):
                    i = j * S + v
                    d_yout += dh[i, l] * hs[i, l]
                    e_s[i, l] = dh[i, l] * y_out * act.deriv(code_h, hs[i, l])   # (23)
                if has_out:
                    e_out[j, l] = d_yout * y_out * (1.0 - y_out)                 # (21)
            for k in range(n_hid):
                yh = r_cur[o_hid + k, l]
                e_hid[k, l] = dh[H + k, l] * yh * (1.0 - yh)                     # (20)

            # Every error is formed before any weight changes (with update "step", dest is w).
            for k in range(K):                                                  # output units (22)
                row = oWo + k * Fo
                d = scale * e[k, l]
                for u in range(H):
                    dest[row + u, l] += d * r_cur[u, l]
                for u in range(n_hid):
                    dest[row + H + u, l] += d * r_cur[o_hid + u, l]
                if shortcut:
                    for q in range(nnz[l]):
                        dest[row + F + nz_idx[l, q], l] += d * nz_val[l, q]
                if obo >= 0:
                    dest[obo + k, l] += d
            for j in range(C):
                for v in range(S):
                    i = j * S + v
                    d = scale * e_s[i, l]
                    if d == 0.0:                                            # as the single kernel
                        continue
                    _add_from_acc(dest, l, i, d, A_c[i], oW, oR, bias_at[i], I, Nr)                  # (28)
                    _add_from_acc(dest, l, o_in + j, d, A_in[i], oW, oR, bias_at[o_in + j], I, Nr)  # (26)
                    if has_f:
                        _add_from_acc(dest, l, o_f + j, d, A_f[i], oW, oR, bias_at[o_f + j], I, Nr)  # (G00)
                    if has_peep:
                        for v2 in range(S):
                            dest[op_in + j * S + v2, l] += d * A_pin[i, v2, l]
                            if has_f:
                                dest[op_f + j * S + v2, l] += d * A_pf[i, v2, l]
                if has_out:
                    d = scale * e_out[j, l]
                    _add_one_step(dest, l, o_out + j, d, oW, oR, bias_at[o_out + j], I, Nr,
                                  nz_idx, nz_val, nnz, r_prev)                                     # (22)
                    if has_peep:
                        for v in range(S):
                            dest[op_out + j * S + v, l] += d * s_new[j * S + v, l]
            for k in range(n_hid):
                _add_one_step(dest, l, o_hid + k, scale * e_hid[k, l], oW, oR, bias_at[o_hid + k], I, Nr,
                              nz_idx, nz_val, nnz, r_prev)                                         # (20, 22)

        # ---- update "sequence": the summed change at a sequence's last step
        if seq_update:
            for l in range(L):
                if t < n_steps[l] and end[t, l]:
                    for p in range(w.shape[0]):
                        w[p, l] -= lr * G[p, l]

        # ---- the new state becomes the previous one
        for u in range(N):
            for l in range(L):
                r_prev[u, l] = r_cur[u, l]
        for i in range(H):
            for l in range(L):
                s_prev[i, l] = s_new[i, l]


@njit(inline="always")
def _add_from_acc(dest, l, unit, d, A, oW, oR, b_at, I, Nr):
    """Lane l: w_{unit,m} += d A[m, l] from one accumulator row A (M, L) (26, 28)."""
    base = oW + unit * I
    for m in range(I):
        dest[base + m, l] += d * A[m, l]
    if Nr:
        base = oR + unit * Nr
        for k in range(Nr):
            dest[base + k, l] += d * A[I + k, l]
    if b_at >= 0:
        dest[b_at, l] += d * A[I + Nr, l]


@njit(inline="always")
def _add_one_step(dest, l, u, d, oW, oR, b_at, I, Nr, nz_idx, nz_val, nnz, r_prev):
    """Lane l: w_{u,m} += d y^m from the unit's own one-step error (22)."""
    base = oW + u * I
    for q in range(nnz[l]):
        dest[base + nz_idx[l, q], l] += d * nz_val[l, q]
    if Nr:
        base = oR + u * Nr
        for k in range(Nr):
            dest[base + k, l] += d * r_prev[k, l]
    if b_at >= 0:
        dest[b_at, l] += d


# ---------------------------------------------------------------------------------------- driver
Sequence1997 = tuple   # (x (T, I) or None, y (T, K), target_mask (T,) or None, input_indices (T,) or None)


class Lanes1997:
    """The paper's online rule for L nets of one topology at once; lane l trains ``models[l]``.

    ``train(models, programs)`` runs lane l through ``programs[l]``, a list of sequences (tuples of
    ``RTRL1997.train_sequence``'s arguments: ``(x, y, target_mask, input_indices)``, one of x and
    input_indices None), each from a zeroed state, and changes ``models[l].flat`` in place exactly as
    ``RTRL1997(models[l], lr, update).train_sequence`` would, sequence by sequence. Returns, per lane,
    one :class:`~lstmkit.learn.rtrl1997.SequenceResult` per sequence. Lanes may differ in the number and
    lengths of their sequences; an empty program leaves its lane idle.
    """

    def __init__(self, lr: float = 0.5, update: str = "step", specialise: bool = False):
        if update not in UPDATES:
            raise ValueError(f"lanes1997: update must be one of {UPDATES}, got {update!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lanes1997: lr must be a positive number, got {lr!r}")
        self.lr, self.update, self.specialise = float(lr), update, bool(specialise)
        self._layouts: dict[int, tuple] = {}       # id(model) -> (model, layout): a trial's model is reused

    def _layout(self, model) -> _Layout:
        hit = self._layouts.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
        lay = _Layout(model)
        if model.dtype != np.float64:
            raise ValueError(f"lanes1997: expected float64 nets (the paper's rows), got {model.dtype}; train "
                             f"other nets with RTRL1997 one at a time")
        if lay.decay != 1.0:
            raise ValueError(f"lanes1997: the cell option state_decay={lay.decay} is not supported in lanes; "
                             f"use RTRL1997")
        if len(self._layouts) > 4096:
            self._layouts.clear()
        self._layouts[id(model)] = (model, lay)
        return lay

    def train(self, models, programs) -> list[list[SequenceResult]]:
        if len(models) != len(programs) or not models:
            raise ValueError(f"lanes1997: expected one program per model (at least one lane), got {len(models)} "
                             f"models and {len(programs)} programs")
        lays = [self._layout(m) for m in models]
        lay = lays[0]
        for l, other in enumerate(lays[1:], 1):
            if not (np.array_equal(other.cfg, lay.cfg) and np.array_equal(other.off, lay.off)
                    and np.array_equal(other.bias_at, lay.bias_at)):
                raise ValueError(f"lanes1997: lane {l}'s net has another topology than lane 0's; lanes share one "
                                 f"topology (group trials by table row)")
        L = len(models)
        one_hot = [[s[3] is not None for s in prog] for prog in programs]
        flat = [f for f in one_hot for f in f]
        if flat and any(flat) != all(flat):
            raise ValueError("lanes1997: give every sequence as x or every sequence as input_indices, not a mix")
        use_idx = bool(flat) and flat[0]
        lengths = [[int((s[3] if use_idx else s[0]).shape[0]) for s in prog] for prog in programs]
        n_steps = np.array([sum(ls) for ls in lengths], dtype=np.int64)
        T = int(n_steps.max())
        I, K = lay.I, lay.K
        x = np.zeros((0 if use_idx else T, I, L))
        onehot = np.full((T if use_idx else 0, L), -1, dtype=np.int64)
        y = np.zeros((T, K, L))
        tmask = np.zeros((T, L), dtype=np.bool_)
        start = np.zeros((T, L), dtype=np.bool_)
        end = np.zeros((T, L), dtype=np.bool_)
        n_targets = np.zeros(L, dtype=np.int64)
        counts = []
        for l, prog in enumerate(programs):
            t0, c = 0, []
            for (xs, ys, tms, idx), T_s in zip(prog, lengths[l]):
                sl = slice(t0, t0 + T_s)
                if use_idx:
                    onehot[sl, l] = idx
                else:
                    x[sl, :, l] = xs
                y[sl, :, l] = ys
                tmask[sl, l] = True if tms is None else tms
                start[t0, l] = True
                end[t0 + T_s - 1, l] = True
                c.append(int(np.count_nonzero(tmask[sl, l])))
                t0 += T_s
            counts.append(c)
            n_targets[l] = sum(c)
        W = models[0].flat.shape[0]
        w = np.empty((W, L))
        for l, m in enumerate(models):
            w[:, l] = m.flat
        G = np.zeros((W, L) if self.update == "sequence" else (0, L))
        out_rec = np.zeros((int(n_targets.max()), K, L))
        loss_rec = np.zeros((max(len(p) for p in programs), L))
        kernel = specialise(_lanes_kernel, lay.cfg, lay.off) if self.specialise else _lanes_kernel
        kernel(w, G, self.lr, self.update == "sequence", lay.cfg, lay.off, lay.bias_at, x, onehot, y, tmask,
               start, end, n_steps, out_rec, loss_rec)
        results = []
        for l, m in enumerate(models):
            m.flat[...] = w[:, l]
            res, n0 = [], 0
            for q, c in enumerate(counts[l]):
                res.append(SequenceResult(float(loss_rec[q, l]), out_rec[n0:n0 + c, :, l].copy()))
                n0 += c
            results.append(res)
        return results


__all__ = ["Lanes1997"]
