"""The 1997 paper's own learning rule: truncated RTRL for memory-cell blocks, online, O(W) per step.

Hochreiter & Schmidhuber (1997), Section 4 "Learning" and Appendix A.1 (eqs. 16-28), extended as
Gers et al. (2000) do for forget gates and Gers et al. (2002) for peepholes. The network is
``Network(LSTM(I, H, cell="lstm1997", **options), Readout(F [+ I], K, activation), input_shortcut)``
with one unidirectional layer (F = H cells + conventional hidden units), or a bare ``Readout`` that
reads the inputs (stage 0 of sequential network construction, below). The loss is 1/2 SSE over the
target steps, the paper's E(t) without its factor 2 (facts §5.6).

Truncation. Errors reaching the net input of a cell, a gate or a hidden unit change that unit's
incoming weights but are not sent on to earlier steps, and none enters a cell state through a
peephole: error flows back in time only inside the CEC. What is left can be carried *forward*,
so that no history needs storing. For every cell i of block j and every source m of its block
(current inputs x(t), recurrent sources r(t-1) = [y_c, gates, y_hid](t-1) or only y_c(t-1) with
recurrent_sources="cells", the bias unit, and the
block's own cell states s(t-1) for peephole weights) three accumulators, all zero at the start of a
sequence (without a forget gate y_f is the cell option state_decay d: 1 in 1997, 0.9 in a row of
Gers et al. 2000's Table 2)::

    A_c[i, m](t)  = y_f(t) A_c[i, m](t-1)  + g'(net_c_i(t)) y_in_j(t) y^m(t)          ds_i/dw_{c_i m}    (27)
    A_in[i, m](t) = y_f(t) A_in[i, m](t-1) + g(net_c_i(t)) f'_in(net_in_j(t)) y^m(t)  ds_i/dw_{in_j m}   (25)
    A_f[i, m](t)  = y_f(t) A_f[i, m](t-1)  + s_i(t-1) f'_f(net_f_j(t)) y^m(t)          ds_i/dw_{f_j m}    (Gers 2000)

(A_c only for m among the cell's own sources; peephole weights p_in, p_f are further gate sources
with y^m = s_v(t-1) of cell v of the same block, held in (H, S) arrays.) At a step with a target,
with e written as the gradient of 1/2 SSE, i.e. the negative of the paper's e::

    e_k        = f'_k(net_k) (y_k - t_k)                                        output unit        (19)
    dy_u       = sum_k w_{ku} e_k                                               error at cell/hidden outputs
    e_hid_u    = f'_u(net_u) dy_u                                               hidden unit        (20)
    e_out_j    = f'_out(net_out_j) sum_v h(s_i) dy_i                            output gate        (21)
    e_s_i      = y_out_j h'(s_i) dy_i                                           cell state         (23)
    dE/dw_{lm} = e_l y^m              for l an output unit, output gate or hidden unit             (22)
    dE/dw_{in_j m} = sum_v e_s_i A_in[i, m],    dE/dw_{f_j m} = sum_v e_s_i A_f[i, m]             (26)
    dE/dw_{c_i m}  = e_s_i A_c[i, m]                                                               (28)

The output units read the *current* cell outputs and, with ``input_shortcut``, the current inputs
(Section 5's order); output-gate peepholes read the new state s(t). With weights frozen the sum of
these terms over a sequence is exactly ``net.backward(dout, truncated=True)`` (tests hold them equal
to 1e-10), and the paper's weight change is Delta w = -lr * dE/dw.

When weights change (facts §2.4, the paper leaves it open): ``update="step"`` applies each step's
change at once (RTRL-style; the accumulators then mix derivatives taken under successive weights,
as in Williams & Zipser's online RTRL), ``update="sequence"`` sums the changes and applies them at
the sequence end. They coincide for tasks with a target at the last step only (Exps 2c-6). The
default here is "step"; the experiment configs choose per task.

Cost and memory. Per step O(W): the forward, the accumulators (2 or 3 per cell and source) and, at
target steps, one pass over the weights. Memory O(W), independent of T; nothing of size T is
allocated except the outputs at the target steps that are returned. Zero inputs are skipped:
without forget gates an input that is 0 at step t changes neither a net input nor an accumulator,
so with one-hot inputs (Exp 2c: p + 4 = 1004 input lines) a step touches one input column; pass
``input_indices`` (one index per step, -1 for an all-zero input) instead of a dense ``x`` to skip
even building it. With forget gates the accumulators decay every step, which is dense again.
Measured (benchmarks/RESULTS.md): about 0.2 µs per step on the Exp. 4 net in float64 (0.12 µs once the
kernel is specialised to the topology, below), plus about 5 µs per call for Python and Numba dispatch.

Sequential network construction (Section 4, abuse problem remedy 1; used in Exp 2a): start small
and add a block (a cell and its gates) when the error stops decreasing. :func:`add_block` grows a
model by one block, copying every existing weight; :class:`Plateau` is the "stops decreasing"
test; :class:`SequentialConstruction` ties the two together for a training loop. Exp 2a starts
with no cell at all (our reading of "the cell and the gate are added once the error stops
decreasing"; the final net then has the paper's 10504 weights at p = 100): its stage 0 is a bare
:class:`~lstmkit.network.Readout` over the inputs (connectivity "B" has the input -> output
shortcut), which this module trains too. The paper gives no numbers for "stops decreasing".

Example (the paper's Exp. 4 net, 93 weights):

>>> import numpy as np
>>> from lstmkit import LSTM, Network, Readout
>>> net = Network(LSTM(2, 4, cell="lstm1997", block_size=2, in_gate_bias=[-3.0, -6.0], seed=0),
...               Readout(4, 1, "logistic", init_range=0.1, seed=1))
>>> learner = RTRL1997(net, lr=0.5)
>>> x = np.zeros((100, 2)); y = np.full((100, 1), 0.5); tm = np.zeros(100, bool); tm[-1] = True
>>> res = learner.train_sequence(x, y, tm)
>>> net.num_weights, res.outputs.shape
(93, (1, 1))
"""
from __future__ import annotations

from collections import deque
from numbers import Real
from typing import NamedTuple

import numpy as np

from .. import activations as act
from .._numba import njit
from ..network import LSTM, Network, Readout

UPDATES = ("step", "sequence")

# Positions in the int64 ``cfg`` vector the kernel receives (one array instead of 15 arguments).
_I, _N, _H, _S, _NHID, _K, _FO, _HAS_F, _HAS_OUT, _HAS_PEEP, _REC, _SHORT, _CODE_G, _CODE_H, _CODE_O = range(15)
_NR = 15       # recurrent sources N_r (0 without recurrence; H for recurrent_sources="cells"): the rows of R
# Positions in the int64 ``off`` vector: offsets of the weight arrays in the flat buffer (-1: absent).
_OW, _OR, _OPIN, _OPF, _OPOUT, _OWO, _OBO = range(7)


# ---------------------------------------------------------------------------------------- kernel
@njit(inline="always")
def _add_unit_from_acc(dest, i_row, d, A, oW, oR, b_at, I, N, Nr):
    """Change of the weights into one unit from one accumulator row: w_{unit,m} += d A[i, m] (26, 28)."""
    base = oW + i_row * I
    for m in range(I):
        dest[base + m] += d * A[m]
    if Nr:
        base = oR + i_row * Nr                 # R is (N_u, N_r): a row has N_r entries
        for k in range(Nr):
            dest[base + k] += d * A[I + k]
    if b_at >= 0:
        dest[b_at] += d * A[I + Nr]


@njit(inline="always")
def _add_unit_one_step(dest, u, d, oW, oR, b_at, I, N, Nr, nz_idx, nz_val, nnz, r_prev):
    """Change of the weights into one unit from its own one-step error: w_{u,m} += d y^m (22)."""
    base = oW + u * I
    for q in range(nnz):
        dest[base + nz_idx[q]] += d * nz_val[q]
    if Nr:
        base = oR + u * Nr                     # R is (N_u, N_r)
        for k in range(Nr):
            dest[base + k] += d * r_prev[k]
    if b_at >= 0:
        dest[b_at] += d


@njit
def _sequence_kernel(w, dest, scale, cfg, off, bias_at, x, onehot, y, tmask, reset,
                     r_prev, s_prev, A_c, A_in, A_f, A_pin, A_pf, out_rec, decay, vel, mu):
    """Run one sequence: forward, accumulators, and at target steps ``dest += scale * dE/dw``.

    ``w`` is the network's flat weight vector; ``dest`` is the flat gradient buffer (gradient and
    update="sequence": scale = 1) or ``w`` itself (update="step": scale = -lr). ``r_prev``/``s_prev``
    and the accumulators carry the state between calls (zeroed first when ``reset``). Returns the
    loss 1/2 SSE over the target steps; the outputs at target steps go to ``out_rec`` in order.
    ``decay`` is the cell option state_decay (1.0 unless set; never with a forget gate).
    With momentum (update="step", ``vel`` the (W,) velocity, empty otherwise) ``dest`` is a zeroed
    scratch buffer that collects the step's -lr dE/dw, then v <- mu v + dest and w <- w + v.
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
    Nr = cfg[_NR]                        # recurrent sources of cells, gates and hidden units
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
    F = H + n_hid                        # features the output units read from the layer
    M = I + Nr + 1                       # accumulator columns: x(t) | r(t-1) | bias
    T = tmask.shape[0]
    use_onehot = onehot.shape[0] > 0
    dt = w.dtype

    # Per-step scratch, O(W) at most: nothing here grows with T.
    net = np.empty(N, dtype=dt)          # net inputs of the layer's units (6-9)
    r_cur = np.empty(N, dtype=dt)        # r(t)
    s_new = np.empty(H, dtype=dt)        # s(t)
    gc = np.empty(H, dtype=dt)           # g(net_c(t))
    hs = np.empty(H, dtype=dt)           # h(s(t))
    yin = np.empty(C, dtype=dt)
    yf = np.full(C, decay, dtype=dt)     # forget gates, or the fixed state decay (1: the 1997 CEC)
    yout = np.ones(C, dtype=dt)
    nz_idx = np.empty(max(I, 1), dtype=np.int64)   # the nonzero inputs of this step ...
    nz_val = np.empty(max(I, 1), dtype=dt)         # ... and their values
    e = np.empty(K, dtype=dt)            # output-unit errors (19)
    dh = np.empty(F, dtype=dt)           # error reaching cell and hidden-unit outputs
    e_s = np.empty(H, dtype=dt)          # internal-state errors (23)
    e_out = np.zeros(C, dtype=dt)        # output-gate errors (21)
    e_hid = np.empty(n_hid, dtype=dt)    # hidden-unit errors (20)

    if reset:                            # the paper resets all activations and derivatives per sequence
        r_prev[:] = 0.0
        s_prev[:] = 0.0
        A_c[:] = 0.0
        A_in[:] = 0.0
        A_f[:] = 0.0
        A_pin[:] = 0.0
        A_pf[:] = 0.0

    loss = 0.0
    n_t = 0
    for t in range(T):
        # ---- the inputs of this step, as (index, value) pairs of the nonzero entries
        nnz = 0
        if use_onehot:
            m = onehot[t]
            if m >= 0:
                nz_idx[0] = m
                nz_val[0] = 1.0
                nnz = 1
        else:
            for m in range(I):
                v = x[t, m]
                if v != 0.0:
                    nz_idx[nnz] = m
                    nz_val[nnz] = v
                    nnz += 1

        # ---- forward, the cell's equations in Section 5's order
        for u in range(N):
            b_at = bias_at[u]
            a = w[b_at] if b_at >= 0 else 0.0
            base = oW + u * I
            for q in range(nnz):
                a += w[base + nz_idx[q]] * nz_val[q]
            if Nr:
                base = oR + u * Nr
                for k in range(Nr):
                    a += w[base + k] * r_prev[k]
            net[u] = a                                                  # (6-9)
        for j in range(C):
            a_in = net[o_in + j]
            a_f = net[o_f + j] if has_f else 0.0
            if has_peep:
                for v in range(S):
                    i = j * S + v
                    a_in += w[op_in + i] * s_prev[i]                    # (G02) peephole from s(t-1)
                    if has_f:
                        a_f += w[op_f + i] * s_prev[i]
            y_in = act.apply(act.LOGISTIC, a_in)                        # (7)
            yin[j] = y_in
            r_cur[o_in + j] = y_in
            y_f = decay
            if has_f:
                y_f = act.apply(act.LOGISTIC, a_f)                      # (G00)
                yf[j] = y_f
                r_cur[o_f + j] = y_f
            for v in range(S):
                i = j * S + v
                g_ = act.apply(code_g, net[i])
                gc[i] = g_
                s = y_f * s_prev[i] + y_in * g_                         # CEC (A.1; G00)
                s_new[i] = s
                hs[i] = act.apply(code_h, s)
            y_out = 1.0
            if has_out:
                a_out = net[o_out + j]
                if has_peep:
                    for v in range(S):
                        i = j * S + v
                        a_out += w[op_out + i] * s_new[i]               # (G02) peephole from s(t)
                y_out = act.apply(act.LOGISTIC, a_out)                  # (8)
                yout[j] = y_out
                r_cur[o_out + j] = y_out
            for v in range(S):
                i = j * S + v
                r_cur[i] = y_out * hs[i]                                # cell output (A.1)
        for k in range(n_hid):
            r_cur[o_hid + k] = act.apply(act.LOGISTIC, net[o_hid + k])  # hidden unit

        # ---- forward-accumulated derivatives of the cell states (25, 27; Gers 2000/2002)
        for j in range(C):
            y_in = yin[j]
            d_in = y_in * (1.0 - y_in)
            y_f = yf[j]
            d_f = y_f * (1.0 - y_f)
            for v in range(S):
                i = j * S + v
                a_c = y_in * act.deriv(code_g, gc[i])                   # (27) local factor
                a_i = gc[i] * d_in                                      # (25) local factor
                a_f = s_prev[i] * d_f                                   # (G00) local factor
                Ac = A_c[i]
                Ai = A_in[i]
                if has_f:
                    Af = A_f[i]
                    for m in range(M):                                  # the decay touches every source
                        Ac[m] *= y_f
                        Ai[m] *= y_f
                        Af[m] *= y_f
                    for q in range(nnz):
                        m = nz_idx[q]
                        Af[m] += a_f * nz_val[q]
                    for k in range(Nr):
                        Af[I + k] += a_f * r_prev[k]
                    Af[I + Nr] += a_f
                elif decay != 1.0:                                      # fixed decay: ds/dw decays with s
                    for m in range(M):
                        Ac[m] *= decay
                        Ai[m] *= decay
                for q in range(nnz):                                    # zero inputs add nothing
                    m = nz_idx[q]
                    Ac[m] += a_c * nz_val[q]
                    Ai[m] += a_i * nz_val[q]
                for k in range(Nr):
                    Ac[I + k] += a_c * r_prev[k]
                    Ai[I + k] += a_i * r_prev[k]
                Ac[I + Nr] += a_c
                Ai[I + Nr] += a_i
                if has_peep:                                            # peephole weights as gate inputs
                    for v2 in range(S):
                        sp = s_prev[j * S + v2]
                        A_pin[i, v2] = y_f * A_pin[i, v2] + a_i * sp
                        if has_f:
                            A_pf[i, v2] = y_f * A_pf[i, v2] + a_f * sp

        # ---- errors and weight changes at a target step
        if tmask[t]:
            for k in range(K):
                row = oWo + k * Fo
                z = w[obo + k] if obo >= 0 else 0.0
                for u in range(H):
                    z += w[row + u] * r_cur[u]
                for u in range(n_hid):
                    z += w[row + H + u] * r_cur[o_hid + u]
                if shortcut:
                    for q in range(nnz):
                        z += w[row + F + nz_idx[q]] * nz_val[q]
                o = act.apply(code_o, z)
                out_rec[n_t, k] = o
                diff = o - y[t, k]
                loss += 0.5 * diff * diff
                e[k] = diff * act.deriv(code_o, o)                      # (19), gradient sign
            n_t += 1
            for u in range(F):
                a = 0.0
                for k in range(K):
                    a += w[oWo + k * Fo + u] * e[k]
                dh[u] = a
            for j in range(C):
                y_out = yout[j]
                d_yout = 0.0
                for v in range(S):
                    i = j * S + v
                    d_yout += dh[i] * hs[i]
                    e_s[i] = dh[i] * y_out * act.deriv(code_h, hs[i])   # (23)
                if has_out:
                    e_out[j] = d_yout * y_out * (1.0 - y_out)           # (21)
            for k in range(n_hid):
                yh = r_cur[o_hid + k]
                e_hid[k] = dh[H + k] * yh * (1.0 - yh)                  # (20)

            # Every error is formed before any weight changes: with update="step", dest is w.
            for k in range(K):                                          # output units (22)
                row = oWo + k * Fo
                d = scale * e[k]
                for u in range(H):
                    dest[row + u] += d * r_cur[u]
                for u in range(n_hid):
                    dest[row + H + u] += d * r_cur[o_hid + u]
                if shortcut:
                    for q in range(nnz):
                        dest[row + F + nz_idx[q]] += d * nz_val[q]
                if obo >= 0:
                    dest[obo + k] += d
            for j in range(C):
                for v in range(S):
                    i = j * S + v
                    d = scale * e_s[i]
                    if d == 0.0:
                        continue
                    _add_unit_from_acc(dest, i, d, A_c[i], oW, oR, bias_at[i], I, N, Nr)       # (28)
                    _add_unit_from_acc(dest, o_in + j, d, A_in[i], oW, oR, bias_at[o_in + j],
                                       I, N, Nr)                                            # (26)
                    if has_f:
                        _add_unit_from_acc(dest, o_f + j, d, A_f[i], oW, oR, bias_at[o_f + j],
                                           I, N, Nr)                                        # (G00)
                    if has_peep:
                        for v2 in range(S):
                            dest[op_in + j * S + v2] += d * A_pin[i, v2]
                            if has_f:
                                dest[op_f + j * S + v2] += d * A_pf[i, v2]
                if has_out:
                    d = scale * e_out[j]
                    _add_unit_one_step(dest, o_out + j, d, oW, oR, bias_at[o_out + j], I, N, Nr,
                                       nz_idx, nz_val, nnz, r_prev)                         # (22)
                    if has_peep:
                        for v in range(S):
                            dest[op_out + j * S + v] += d * s_new[j * S + v]
            for k in range(n_hid):
                _add_unit_one_step(dest, o_hid + k, scale * e_hid[k], oW, oR, bias_at[o_hid + k],
                                   I, N, Nr, nz_idx, nz_val, nnz, r_prev)                   # (20, 22)
            # Momentum: the step's change -lr dE/dw sits in dest (a scratch buffer, not w), so every
            # error above was formed with this step's weights; v <- mu v - lr dE/dw, w <- w + v.
            for p in range(vel.shape[0]):
                v_ = mu * vel[p] + dest[p]
                vel[p] = v_
                w[p] += v_
                dest[p] = 0.0

        # ---- the new state becomes the previous one
        for u in range(N):
            r_prev[u] = r_cur[u]
        for i in range(H):
            s_prev[i] = s_new[i]
    return loss


# ------------------------------------------------------------------------------- specialised kernels
# The kernel above reads the topology (sizes, flags, offsets) from the arrays ``cfg`` and ``off`` at run
# time. Compiled once more from its own source with ``cfg`` and ``off`` as global tuples instead (numba
# freezes globals into the code), every size is known to the compiler: LLVM unrolls the short loops and
# drops the branches of absent parts. The operations and their order do not change, so neither do the
# results (tests hold them bit-identical); on the paper's nets a step costs 1.4-2.2x less in one process
# (benchmarks/RESULTS.md), a 2c trial with two workers on an Intel machine only 6-15 % less (REPRODUCTION.md).
# Each topology compiles anew, for about 4 s and not to the on-disk cache, so a learner switches to its
# specialised kernel only after SPECIALISE_AFTER steps with the generic one: long runs (the reproduction's
# trials) gain, short ones never wait for the compiler.
SPECIALISE_AFTER = 20_000_000                    # steps; about 4 s of the generic kernel on the Exp 4 net
_SPECIALISED: dict = {}                          # (kernel, cfg, off) -> compiled kernel, per process


def specialise(kernel, cfg: np.ndarray, off: np.ndarray):
    """``kernel`` (a Numba function with arguments named ``cfg`` and ``off``) compiled again from its own
    source with ``cfg`` and ``off`` as compile-time constants; same signature. Used by this module's
    kernel and by the lanes kernel (lanes1997.py)."""
    import inspect
    import re

    import numba

    if numba.config.DISABLE_JIT:                 # plain Python: nothing to specialise
        return kernel
    key = (kernel.__name__, tuple(int(v) for v in cfg), tuple(int(v) for v in off))
    compiled = _SPECIALISED.get(key)
    if compiled is None:
        func = kernel.py_func
        src = inspect.getsource(func)
        src = src[src.index(f"def {func.__name__}("):]     # without the decorator
        head, body = src.split(":\n", 1)
        head, n = re.subn(r"\bcfg, off\b", "_cfg, _off", head)   # the arguments cfg, off become unused
        assert n == 1, f"specialise: {func.__name__} has no arguments 'cfg, off'"
        scope = {**func.__globals__, "cfg": key[1], "off": key[2]}
        exec(compile(head + ":\n" + body, f"<{func.__name__} for cfg={key[1]}>", "exec"), scope)
        compiled = _SPECIALISED[key] = numba.njit(nogil=True)(scope[func.__name__])
    return compiled


def _specialised_kernel(cfg: np.ndarray, off: np.ndarray):
    """The single-trial kernel with ``cfg`` and ``off`` as compile-time constants."""
    return specialise(_sequence_kernel, cfg, off)


# ---------------------------------------------------------------------------------------- layout
class _Layout:
    """Where everything the kernel needs sits in the model's flat weight vector."""

    def __init__(self, model):
        if isinstance(model, Network):
            readout, shortcut = model.readout, model.input_shortcut
            rnn = model.rnn
            if not isinstance(rnn, LSTM) or rnn.cell_name != "lstm1997":
                raise ValueError(f"rtrl1997: expected a Network over LSTM(..., cell='lstm1997'), got cell "
                                 f"{getattr(rnn, 'cell_name', type(rnn).__name__)!r}; the paper's rule is "
                                 f"defined for 1997 memory-cell blocks (use bptt for other cells)")
            if rnn.num_layers != 1 or rnn.bidirectional:
                raise ValueError(f"rtrl1997: expected one unidirectional layer (the paper's topology), got "
                                 f"num_layers={rnn.num_layers}, bidirectional={rnn.bidirectional}; use bptt "
                                 f"for stacks")
            cell = rnn.cells[0]
            o = cell.options
            I, H, S = cell.input_size, cell.hidden_size, cell.block_size
            N, n_hid = cell.n_units, cell.n_hidden_units
            sl = cell.unit_slices()
            slices = model._params.slices
            at = lambda name: slices[f"rnn.l0.{name}"].start if f"rnn.l0.{name}" in slices else -1
            self.bias_at = np.full(N, -1, dtype=np.int64)   # (N_u,) flat index of each unit's bias
            for name, unit in (("b_c", "cells"), ("b_in", "in"), ("b_f", "f"), ("b_out", "out"),
                               ("b_hid", "hid")):
                if at(name) >= 0:
                    idx = np.arange(sl[unit].start, sl[unit].stop)
                    self.bias_at[idx] = at(name) + np.arange(idx.size)
            flags = (int(o["forget_gate"]), int(o["output_gate"]), int(o["peepholes"]), int(o["recurrent"]))
            codes = (cell._g.code, cell._h.code)
            offs = [at("W"), at("R"), at("p_in"), at("p_f"), at("p_out")]
            prefix = "out."
        elif isinstance(model, Readout):
            # Stage 0 of sequential construction: output units over the inputs only.
            readout, shortcut = model, True
            I, H, S, N, n_hid = readout.in_features, 0, 1, 0, 0
            slices = model._params.slices
            self.bias_at = np.zeros(0, dtype=np.int64)
            flags = (0, 0, 0, 0)
            codes = (act.IDENTITY, act.IDENTITY)
            offs = [-1] * 5
            prefix = ""
        else:
            raise TypeError(f"rtrl1997: expected a lstmkit Network (or a bare Readout for stage 0 of "
                            f"sequential construction), got {type(model).__name__}")
        if readout.activation == "softmax":
            raise ValueError("rtrl1997: softmax output units are not part of the paper's rule (eq. 19 is "
                             "per unit); use Readout(..., 'logistic') or 'identity'")
        K, Fo = readout.out_features, readout.in_features
        offs += [slices[prefix + "W"].start, slices[prefix + "b"].start if prefix + "b" in slices else -1]
        self.off = np.array(offs, dtype=np.int64)
        Nr = (cell.n_sources if flags[3] else 0) if isinstance(model, Network) else 0
        self.cfg = np.array([I, N, H, S, n_hid, K, Fo, *flags, int(shortcut), *codes, readout._act.code, Nr],
                            dtype=np.int64)
        self.decay = float(o["state_decay"]) if isinstance(model, Network) else 1.0
        self.I, self.K, self.H, self.S, self.N = I, K, H, S, N
        self.has_f = bool(flags[0])
        self.M = I + Nr + 1


class SequenceResult(NamedTuple):
    """What one sequence gave: the loss 1/2 SSE over its target steps and the outputs there."""

    loss: float
    outputs: np.ndarray | None    # (n_target_steps, K) outputs at the target steps, in time order


class RTRL1997:
    """The paper's online learner bound to one model: accumulators, state and options.

    ``lr`` is the paper's alpha; ``update`` is "step" (default) or "sequence" (module docstring).
    ``momentum`` mu in [0, 1) (Gers et al. 2002): at every weight change (each target step, or each
    sequence end) v <- mu v - lr dE/dw, w <- w + v, with the velocity ``self.velocity`` (W,) kept
    across sequences; 0 (default) is the plain rule and gives the same bits as without the option.
    The accumulators are allocated once (O(W)) and reused for every sequence. ``specialise``: None
    (default) switches to a kernel compiled for this topology after SPECIALISE_AFTER steps, True at
    once, False never; the results are the same bits either way, only the speed differs.
    """

    def __init__(self, model, lr: float = 0.5, update: str = "step", specialise: bool | None = None,
                 momentum: float = 0.0):
        if specialise not in (None, True, False):
            raise ValueError(f"rtrl1997: specialise must be None (after {SPECIALISE_AFTER:,} steps), True or "
                             f"False, got {specialise!r}")
        if update not in UPDATES:
            raise ValueError(f"rtrl1997: update must be one of {UPDATES}, got {update!r}")
        if isinstance(lr, bool) or not isinstance(lr, Real) or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"rtrl1997: lr must be a positive number, got {lr!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"rtrl1997: momentum must be a number in [0, 1), got {momentum!r}")
        self.model = model
        self.lr = float(lr)
        self.update = update
        self.momentum = float(momentum)
        self._lay = lay = _Layout(model)
        dt = model.dtype
        # v of w <- w + v (empty without momentum: the kernel's momentum loop then runs 0 times)
        self.velocity = np.zeros(model.flat.shape[0] if momentum else 0, dtype=dt)
        self._no_vel = np.zeros(0, dtype=dt)
        self._step_change = np.zeros_like(model.flat) if momentum else None   # -lr dE/dw of one step
        self.r = np.zeros(lay.N, dtype=dt)                             # r(t-1)
        self.s = np.zeros(lay.H, dtype=dt)                             # s(t-1)
        self.A_c = np.zeros((lay.H, lay.M), dtype=dt)                  # (25, 27) accumulators
        self.A_in = np.zeros((lay.H, lay.M), dtype=dt)
        self.A_f = np.zeros((lay.H, lay.M) if lay.has_f else (lay.H, 0), dtype=dt)
        self.A_pin = np.zeros((lay.H, lay.S), dtype=dt)                # peephole weights' accumulators
        self.A_pf = np.zeros((lay.H, lay.S), dtype=dt)
        self._empty_x = np.zeros((0, lay.I), dtype=dt)
        self._no_idx = np.zeros(0, dtype=np.int64)
        self._scratch = None                                           # evaluate()'s discarded gradient
        self._kernel = _specialised_kernel(lay.cfg, lay.off) if specialise else _sequence_kernel
        self._steps = 0 if specialise is None else None                # counts to SPECIALISE_AFTER

    # ------------------------------------------------------------------ inputs
    def _inputs(self, x, y, target_mask, input_indices):
        lay, dt = self._lay, self.model.dtype
        if input_indices is not None:
            idx = np.ascontiguousarray(input_indices, dtype=np.int64)
            if idx.ndim != 1:
                raise ValueError(f"input_indices: expected shape (T,) (one input index per step), got {idx.shape}")
            if idx.size and (idx.max() >= lay.I or idx.min() < -1):
                raise ValueError(f"input_indices: expected values in -1 .. {lay.I - 1} (-1 = all inputs 0), "
                                 f"got min {idx.min()}, max {idx.max()}")
            if x is not None:
                raise ValueError("rtrl1997: pass either x or input_indices, not both")
            T, xx = idx.shape[0], self._empty_x
        else:
            if x is None:
                raise ValueError("rtrl1997: x is required (or input_indices for one-hot inputs)")
            xx = np.asarray(x, dtype=dt)
            if xx.ndim == 3 and xx.shape[1] == 1:
                xx = xx[:, 0]
            if xx.ndim != 2 or xx.shape[1] != lay.I:
                raise ValueError(f"x: expected one sequence of shape (T, {lay.I}), got {np.shape(x)}; "
                                 f"the rule is online, one sequence at a time")
            xx = np.ascontiguousarray(xx)
            T, idx = xx.shape[0], self._no_idx
        yy = np.asarray(y, dtype=dt)
        if yy.ndim == 3 and yy.shape[1] == 1:
            yy = yy[:, 0]
        if yy.shape != (T, lay.K):
            raise ValueError(f"y: expected targets of shape (T, K) = ({T}, {lay.K}), got {yy.shape}")
        if target_mask is None:
            tm = np.ones(T, dtype=np.bool_)
        else:
            tm = np.asarray(target_mask)
            if tm.ndim == 2 and tm.shape[1] == 1:
                tm = tm[:, 0]
            if tm.shape != (T,):
                raise ValueError(f"target_mask: expected shape ({T},) (True where a target exists), got {tm.shape}")
            tm = np.ascontiguousarray(tm, dtype=np.bool_)
        return xx, idx, np.ascontiguousarray(yy), tm

    def _run(self, dest, scale, x, y, target_mask, input_indices, reset, vel=None):
        xx, idx, yy, tm = self._inputs(x, y, target_mask, input_indices)
        lay = self._lay
        out = np.empty((int(np.count_nonzero(tm)), lay.K), dtype=self.model.dtype)
        loss = self._kernel(self.model.flat, dest, scale, lay.cfg, lay.off, lay.bias_at, xx, idx, yy, tm,
                            bool(reset), self.r, self.s, self.A_c, self.A_in, self.A_f, self.A_pin, self.A_pf, out,
                            lay.decay, self._no_vel if vel is None else vel, self.momentum)
        if self._steps is not None:
            self._steps += tm.shape[0]
            if self._steps >= SPECIALISE_AFTER:
                self._kernel, self._steps = _specialised_kernel(lay.cfg, lay.off), None
        return SequenceResult(float(loss), out)

    # ------------------------------------------------------------------ public
    def reset(self) -> None:
        """Zero the state and the accumulators (done anyway at the start of every sequence by default)."""
        for a in (self.r, self.s, self.A_c, self.A_in, self.A_f, self.A_pin, self.A_pf):
            a[...] = 0.0

    def gradient(self, x, y, target_mask=None, input_indices=None, accumulate: bool = False) -> SequenceResult:
        """Weights frozen: add the truncated gradient of 1/2 SSE of one sequence to ``model.grad_flat``.

        The model's gradient buffer is zeroed first unless ``accumulate``.
        """
        if not accumulate:
            self.model.zero_grad()
        return self._run(self.model.grad_flat, 1.0, x, y, target_mask, input_indices, True)

    def evaluate(self, x, y, target_mask=None, input_indices=None, reset: bool = True) -> SequenceResult:
        """Weights frozen, no gradient: the loss and the outputs at the target steps of one sequence.

        ``reset=False`` continues from the state the previous call left (testing on a continual stream).
        """
        if self._scratch is None:
            self._scratch = np.zeros_like(self.model.flat)
        return self._run(self._scratch, 0.0, x, y, target_mask, input_indices, reset)

    def train_sequence(self, x, y, target_mask=None, input_indices=None, reset: bool = True) -> SequenceResult:
        """Process one sequence online and change the weights (after each target step or at the end).

        ``reset=False`` continues from the state and accumulators the previous call left (a continual
        stream cut into pieces; only meaningful with update="step"). Returns the loss and the outputs
        at the target steps, computed with the weights in force at each step.
        """
        if self.update == "step":
            if self.momentum:                  # each step's change goes to a scratch buffer, then v, then w
                return self._run(self._step_change, -self.lr, x, y, target_mask, input_indices, reset,
                                 self.velocity)
            return self._run(self.model.flat, -self.lr, x, y, target_mask, input_indices, reset)
        res = self.gradient(x, y, target_mask, input_indices)
        if self.momentum:
            self.velocity *= self.momentum                               # v <- mu v - lr dE/dw
            self.velocity -= self.lr * self.model.grad_flat
            self.model.flat[...] += self.velocity                        # w <- w + v
        else:
            self.model.flat[...] -= self.lr * self.model.grad_flat
        return res


def _sequences(x, y, target_mask, input_indices, lengths):
    """Split (T, B, ...) batches into single sequences (time-major, as lstmkit's tasks give them)."""
    a = input_indices if x is None else x
    a = np.asarray(a)
    if (x is not None and a.ndim != 3) or (x is None and a.ndim != 2):
        yield x, y, target_mask, input_indices
        return
    B = a.shape[1]
    T = a.shape[0]
    lens = np.full(B, T) if lengths is None else np.asarray(lengths)
    y = np.asarray(y)
    for b in range(B):
        L = int(lens[b])
        tm = None if target_mask is None else np.asarray(target_mask)[:L, b]
        if x is None:
            yield None, y[:L, b], tm, a[:L, b]
        else:
            yield a[:L, b], y[:L, b], tm, None


def gradient(net, x, y, target_mask=None, *, input_indices=None, lengths=None) -> np.ndarray:
    """The truncated gradient of 1/2 SSE over the target steps, weights frozen, as a flat vector.

    ``x`` (T, I) is one sequence, or (T, B, I) several (with ``lengths``; their gradients add up);
    ``y`` (T, K) / (T, B, K); ``target_mask`` (T,) / (T, B), None for every step. One-hot inputs may
    be given as ``input_indices`` (T,) / (T, B) instead of x. Same layout as ``net.grad_flat``,
    which is filled too.
    """
    learner = RTRL1997(net)
    net.zero_grad()
    for xs, ys, tms, idx in _sequences(x, y, target_mask, input_indices, lengths):
        learner.gradient(xs, ys, tms, idx, accumulate=True)
    return net.grad_flat.copy()


def train_sequence(net, x, y, target_mask=None, *, lr: float, update: str = "step", input_indices=None,
                   learner: RTRL1997 | None = None) -> SequenceResult:
    """One online training sequence (see :class:`RTRL1997`; pass ``learner`` to reuse its buffers)."""
    if learner is None:
        learner = RTRL1997(net, lr=lr, update=update)
    elif learner.model is not net:
        raise ValueError("train_sequence: learner is bound to a different network; build RTRL1997(net)")
    return learner.train_sequence(x, y, target_mask, input_indices)


# ---------------------------------------------------------------------------------------- construction
def _cell_options_for_growth(options: dict) -> dict:
    # Per-block bias lists describe the old number of blocks; the copy below keeps the old biases
    # and the new block gets the values given to add_block.
    return {k: v for k, v in options.items() if k not in ("in_gate_bias", "out_gate_bias", "forget_gate_bias")}


def add_block(model, rng: np.random.Generator, *, block_size: int | None = None, cell_options: dict | None = None,
              in_gate_bias: float | None = None, out_gate_bias: float | None = None,
              forget_gate_bias: float | None = None) -> Network:
    """A new Network with one more memory-cell block; every existing weight is copied.

    ``model`` is a ``Network`` with a lstm1997 layer, or a bare ``Readout`` over the inputs (stage
    0, no cell yet; then ``cell_options`` must describe the cells to add, e.g. Exp 2a's
    ``dict(output_gate=False, recurrent=False, g="logistic", h="identity", bias_cell=False,
    bias_in=False, init_range=0.2)``, and the result has ``input_shortcut=True``). New weights (into
    and out of the new block, and from its units into the old ones) are drawn uniformly in the
    cell's ``init_range`` (the readout's ``init_range`` for new output weights); the new block's
    gate biases can be set with ``in_gate_bias`` etc. The returned network has fresh buffers: build
    a new :class:`RTRL1997` for it.
    """
    if isinstance(model, Readout):
        if cell_options is None:
            raise ValueError("add_block: growing a bare Readout (stage 0) needs cell_options for the new cells")
        opts = dict(cell_options)
        S = int(block_size if block_size is not None else opts.get("block_size", 1))
        opts["block_size"] = S
        I, old_cell, old_readout, shortcut = model.in_features, None, model, True
        old_F = 0
    elif isinstance(model, Network):
        _Layout(model)   # validates the topology
        old_cell = model.rnn.cells[0]
        opts = _cell_options_for_growth(old_cell.options)
        if cell_options:
            opts.update(cell_options)
        S = old_cell.block_size
        if block_size is not None and block_size != S:
            raise ValueError(f"add_block: blocks of one layer share their size; the layer has block_size={S}, "
                             f"got block_size={block_size}")
        I, old_readout, shortcut = old_cell.input_size, model.readout, model.input_shortcut
        old_F = old_cell.output_size
    else:
        raise TypeError(f"add_block: expected a Network or a bare Readout, got {type(model).__name__}")
    H_old = 0 if old_cell is None else old_cell.hidden_size
    dt = old_readout.dtype
    seed_rnn, seed_out = (int(s) for s in rng.integers(2**63 - 1, size=2))
    rnn = LSTM(I, H_old + S, cell="lstm1997", dtype=dt, seed=seed_rnn, **opts)
    new_cell = rnn.cells[0]
    p_new = rnn._cell_params[0].params
    C_old = H_old // S
    for key, name, value in (("in_gate_bias", "b_in", in_gate_bias), ("out_gate_bias", "b_out", out_gate_bias),
                             ("forget_gate_bias", "b_f", forget_gate_bias)):
        if value is not None:
            if name not in p_new:
                raise ValueError(f"add_block: {key} given but the cells have no {name}")
            p_new[name][C_old] = value
    if old_cell is not None:
        p_old = model.rnn._cell_params[0].params
        sl_old, sl_new = old_cell.unit_slices(), new_cell.unit_slices()
        umap = np.concatenate([np.arange(sl_new[k].start, sl_new[k].start + (sl_old[k].stop - sl_old[k].start))
                               for k in sl_old])                       # old unit index -> new unit index
        assert umap.size == old_cell.n_units
        p_new["W"][umap] = p_old["W"]
        if "R" in p_old:
            p_new["R"][np.ix_(umap, umap)] = p_old["R"]
        for name in ("b_c", "b_in", "b_f", "b_out", "b_hid", "p_in", "p_f", "p_out"):
            if name in p_old:
                p_new[name][: p_old[name].shape[0]] = p_old[name]
    F_new = new_cell.output_size
    readout = Readout(F_new + (I if shortcut else 0), old_readout.out_features, old_readout.activation,
                      bias=old_readout.bias, dtype=dt, seed=seed_out, init_range=old_readout.init_range)
    Wo_old, Wo_new = old_readout.params["W"], readout.params["W"]
    n_hid = new_cell.n_hidden_units
    Wo_new[:, :H_old] = Wo_old[:, :H_old]                                   # old cells
    Wo_new[:, H_old + S:F_new] = Wo_old[:, H_old:H_old + n_hid]             # hidden units
    if shortcut:
        Wo_new[:, F_new:] = Wo_old[:, old_F:old_F + I]                      # inputs
    if old_readout.bias:
        readout.params["b"][...] = old_readout.params["b"]
    return Network(rnn, readout, input_shortcut=shortcut)


class Plateau:
    """"The error stops decreasing": no relative improvement of a running mean for a while.

    The running mean is over the last ``window`` per-sequence errors. ``update(error)`` returns True
    once that mean has not fallen below ``(1 - min_improvement) * best`` for ``patience`` further
    sequences (``best`` = the lowest mean so far), and then starts afresh. The paper gives no
    numbers for this test; the defaults are a choice.
    """

    def __init__(self, window: int = 100, patience: int = 1000, min_improvement: float = 0.01):
        if window < 1 or patience < 1 or not 0 <= min_improvement < 1:
            raise ValueError(f"Plateau: expected window >= 1, patience >= 1, 0 <= min_improvement < 1; got "
                             f"{window}, {patience}, {min_improvement}")
        self.window, self.patience, self.min_improvement = int(window), int(patience), float(min_improvement)
        self.reset()

    def reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.window)
        self._sum = 0.0
        self.best = np.inf
        self.since_best = 0

    def update(self, error: float) -> bool:
        if len(self._recent) == self.window:
            self._sum -= self._recent[0]
        self._recent.append(float(error))
        self._sum += float(error)
        if len(self._recent) < self.window:
            return False
        mean = self._sum / self.window
        if mean < (1.0 - self.min_improvement) * self.best:
            self.best, self.since_best = mean, 0
            return False
        self.since_best += 1
        if self.since_best >= self.patience:
            self.reset()
            return True
        return False


class SequentialConstruction:
    """Grow a model by one block whenever its training error plateaus, up to ``max_blocks`` blocks.

    Use in a training loop: ``model, grown = sc.update(model, error_of_this_sequence)``; when
    ``grown``, rebuild the learner for the new model. Exp 2a: start from ``Readout(p + 1, p + 1,
    "logistic")``, ``max_blocks=1``, the cell options of :func:`add_block`'s docstring.
    """

    def __init__(self, rng: np.random.Generator, plateau: Plateau | None = None, max_blocks: int = 1,
                 cell_options: dict | None = None, **block_kw):
        self.rng = rng
        self.plateau = plateau if plateau is not None else Plateau()
        self.max_blocks = int(max_blocks)
        self.cell_options = cell_options
        self.block_kw = block_kw
        self.grown_at: list[int] = []     # sequence counts at which blocks were added
        self._seen = 0

    @staticmethod
    def n_blocks(model) -> int:
        return 0 if isinstance(model, Readout) else model.rnn.cells[0].n_blocks

    def update(self, model, error: float):
        """Record one sequence's error; return ``(model, grown)``."""
        self._seen += 1
        if self.plateau.update(error) and self.n_blocks(model) < self.max_blocks:
            self.grown_at.append(self._seen)
            return add_block(model, self.rng, cell_options=self.cell_options, **self.block_kw), True
        return model, False
