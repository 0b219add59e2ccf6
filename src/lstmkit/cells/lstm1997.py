"""The 1997 memory-cell layer: blocks of S cells sharing an input and an output gate.

Hochreiter & Schmidhuber (1997), Section 4 and Appendix A.1, with the Gers et al. (2000) forget gate
and the Gers et al. (2002) peepholes as options. H = C·S memory cells in C blocks; cell v of block j
has index i = j·S + v. sigma is the logistic function, g and h the cell input/output squashings.

Equations for step t, in the order of the paper's Section 5 (inputs are the current x(t), every
recurrent source is the previous step's activation r(t-1) = [y_c(t-1), gates(t-1), y_hid(t-1)], or
with ``recurrent_sources="cells"`` only r(t-1) = y_c(t-1), the Gers et al. 2000 CERG net)::

    net(t)    = W x(t) + R r(t-1) + b                           net inputs of all units    (6-9)
    net_in_j  += sum_v p_in[i] s_i(t-1),   y_in_j = sigma(net_in_j)   input gate   (6-9; G02 peephole)
    net_f_j   += sum_v p_f[i]  s_i(t-1),   y_f_j  = sigma(net_f_j)    forget gate  (G00; else y_f = d)
    s_i(t)    = y_f_j s_i(t-1) + y_in_j g(net_c_i)              CEC, self-weight d without a forget gate
    net_out_j += sum_v p_out[i] s_i(t),    y_out_j = sigma(net_out_j) output gate (6-9; else y_out = 1)
    y_c_i(t)  = y_out_j h(s_i(t))                               cell output
    y_hid(t)  = sigma(net_hid)                                  conventional hidden units
    y(t)      = [y_c(t), y_hid(t)]                              read by the network's output layer

Backward (exact BPTT), one d_ per forward symbol, visited in reverse; dr(t) is the error reaching
r(t) from step t+1 (and the final state), ds(t) the error reaching s(t)::

    d_y_c     = dr_c + dy_c,   d_y_out_j = dr_out_j + sum_v d_y_c_i h(s_i)
    d_net_out = d_y_out sigma'                                                          (21)
    d_s_i     = ds_i + d_y_c_i y_out_j h'(s_i) + p_out[i] d_net_out_j                    (23)
    d_net_c_i = d_s_i y_in_j g'(net_c_i)                                                (27-28)
    d_net_in  = (dr_in_j + sum_v d_s_i g(net_c_i)) sigma'                               (25-26)
    d_net_f   = (dr_f_j  + sum_v d_s_i s_i(t-1)) sigma'                                 (G00)
    d_net_hid = (dr_hid + dy_hid) sigma'                                                (20)
    ds(t-1)   = y_f d_s + p_in d_net_in + p_f d_net_f,   dr(t-1) = d_net(t) R
    dW = sum_t d_net^T x,  dR = sum_t d_net^T r(t-1),  db = sum_t d_net,  dx = d_net W

d is ``state_decay``: 1 (the 1997 CEC) unless set; Gers et al. (2000, Table 2) try a fixed d = 0.9,
s(t) = 0.9 s(t-1) + y_in g, as a remedy for state growth on continual streams that does not need a
forget gate (it cannot be combined with one here: the row does not exist in the paper).

``truncated=True`` is the paper's gradient (Section 4 "Learning", A.1): errors reaching the net
inputs of cells, gates and hidden units update their weights but are not sent to r(t-1), and no
error enters s through a peephole (Gers 2002); error flows back in time only inside the CEC,
ds(t-1) = y_f ds(t). Hidden units then get error only from the same step's output (eq. 20).

Hidden-layer units, the row order of W and R (only existing units are present)::

    cells (H) | input gates (C) | forget gates (C) | output gates (C) | hidden units (n_hid)

The recurrent sources r (the columns of R) are the activations of the same units in the same order:
cell outputs y_c, gate activations, hidden-unit outputs; N_u = N_r = H + n_gates·C + n_hid. With
``recurrent_sources="cells"`` R keeps only its first H columns (N_r = H): the cells come first in r.

=========  ============  =========================================================
parameter  shape         present when / meaning
=========  ============  =========================================================
W          (N_u, I)      always; weights from the current inputs
R          (N_u, N_r)    recurrent=True (connectivity "F"); from r(t-1); N_r = H for "cells"
b_c        (H,)          bias_cell
b_in       (C,)          bias_in
b_f        (C,)          forget_gate and bias_forget
b_out      (C,)          output_gate and bias_out
b_hid      (n_hid,)      hidden_units > 0 and bias_hidden
p_in       (H,)          peepholes; cell state -> its own block's input gate
p_f        (H,)          peepholes and forget_gate
p_out      (H,)          peepholes and output_gate
=========  ============  =========================================================

State ("h", "c", "gates", "hid"): cell outputs y_c (H), cell states s (H), gate activations
(n_gates·C, unit order) and hidden-unit outputs (n_hid), all of the last real step.

Initialisation: every weight uniform in [-init_range, init_range] (the paper: 0.2 for Exps 1-2,
0.1 for Exps 3-6); ``in_gate_bias``/``out_gate_bias``/``forget_gate_bias`` then overwrite the gate
biases per block (the paper's staggered negative biases, Section 4 and Table 10).
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from .. import activations as act
from .._numba import njit
from .base import Cell


@njit
def _unit_offsets(N, H, S, has_f, has_out):
    """(C, o_in, o_f, o_out, o_hid, n_hid): where each unit type starts among the N_u rows (see above)."""
    C = H // S
    o_hid = H + C * (1 + has_f + has_out)
    return C, H, H + C, H + C * (1 + has_f), o_hid, N - o_hid


@njit
def _forward_kernel(xw, RT, p_in, p_f, p_out, mask, S, has_f, has_out, has_peep, recurrent,
                    code_g, code_h, rs, ss, net_c, gc, hs, y, decay=1.0):
    """Fill rs[1:], ss[1:] (rs[0], ss[0] hold the initial state), net_c, gc = g(net_c), hs = h(s), y."""
    T, B, N = xw.shape
    H = ss.shape[2]
    Nr = RT.shape[0]                                                    # recurrent sources: N_u, or H
    C, o_in, o_f, o_out, o_hid, n_hid = _unit_offsets(N, H, S, has_f, has_out)
    net = np.empty(N, dtype=xw.dtype)                                   # (N_u,) one sequence's net inputs
    for t in range(T):
        for b in range(B):
            if not mask[t, b]:
                # Masked step: every state array is carried unchanged; y stays zero.
                rs[t + 1, b] = rs[t, b]
                ss[t + 1, b] = ss[t, b]
                net_c[t, b] = 0.0
                gc[t, b] = 0.0
                hs[t, b] = 0.0
                continue
            for u in range(N):
                net[u] = xw[t, b, u]
            if recurrent:
                # net += R r(t-1), as a sum of columns: the inner loop is over independent units, so
                # it vectorises (a dot product per unit would be bound by the latency of its adds).
                for k in range(Nr):
                    r_k = rs[t, b, k]
                    for u in range(N):
                        net[u] += RT[k, u] * r_k                        # (6-9)
            for j in range(C):
                a_in = net[o_in + j]
                a_f = net[o_f + j] if has_f else 0.0
                if has_peep:
                    for v in range(S):
                        i = j * S + v
                        a_in += p_in[i] * ss[t, b, i]                   # (G02) peephole from s(t-1)
                        if has_f:
                            a_f += p_f[i] * ss[t, b, i]
                y_in = act.apply(act.LOGISTIC, a_in)                    # (6-9)
                rs[t + 1, b, o_in + j] = y_in
                y_f = decay                                             # 1, or Table 2's fixed decay
                if has_f:
                    y_f = act.apply(act.LOGISTIC, a_f)                  # (G00)
                    rs[t + 1, b, o_f + j] = y_f
                for v in range(S):
                    i = j * S + v
                    net_c[t, b, i] = net[i]
                    g_ = act.apply(code_g, net[i])
                    gc[t, b, i] = g_
                    s = y_f * ss[t, b, i] + y_in * g_                   # CEC (A.1; G00)
                    ss[t + 1, b, i] = s
                    hs[t, b, i] = act.apply(code_h, s)
                y_out = 1.0
                if has_out:
                    a_out = net[o_out + j]
                    if has_peep:
                        for v in range(S):
                            i = j * S + v
                            a_out += p_out[i] * ss[t + 1, b, i]         # (G02) peephole from s(t)
                    y_out = act.apply(act.LOGISTIC, a_out)              # (6-9)
                    rs[t + 1, b, o_out + j] = y_out
                for v in range(S):
                    i = j * S + v
                    yc = y_out * hs[t, b, i]                            # cell output (A.1)
                    rs[t + 1, b, i] = yc
                    y[t, b, i] = yc
            for k in range(n_hid):
                yh = act.apply(act.LOGISTIC, net[o_hid + k])            # (6-9) logistic hidden unit
                rs[t + 1, b, o_hid + k] = yh
                y[t, b, H + k] = yh


@njit
def _backward_kernel(rs, ss, gc, hs, dy, dr0, ds0, R, p_in, p_f, p_out, mask, S, has_f, has_out,
                     has_peep, recurrent, truncated, code_g, code_h, dnet, decay=1.0):
    """Fill dnet (T, B, N_u) with the net-input errors; return the errors reaching r(0) and s(0)."""
    T, B, N = dnet.shape
    H = ss.shape[2]
    C, o_in, o_f, o_out, o_hid, n_hid = _unit_offsets(N, H, S, has_f, has_out)
    peep_back = has_peep and not truncated       # truncation: no error enters s through a peephole
    send_back = recurrent and not truncated      # truncation: no error is sent on to r(t-1)
    dr = dr0.copy()                              # (B, N_r) error reaching r(t)
    ds = ds0.copy()                              # (B, H)   error reaching s(t)
    d_hs = np.empty(H, dtype=dnet.dtype)
    d_s = np.empty(H, dtype=dnet.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if not mask[t, b]:
                # Masked step: the state is carried, so its error is carried too.
                dnet[t, b] = 0.0
                continue
            for j in range(C):
                y_in = rs[t + 1, b, o_in + j]
                y_f = rs[t + 1, b, o_f + j] if has_f else decay
                y_out = rs[t + 1, b, o_out + j] if has_out else 1.0
                d_yout = dr[b, o_out + j] if has_out else 0.0
                for v in range(S):
                    i = j * S + v
                    d_yc = dr[b, i] + dy[t, b, i]
                    d_yout += d_yc * hs[t, b, i]
                    d_hs[i] = d_yc * y_out
                d_nout = 0.0
                if has_out:
                    d_nout = d_yout * y_out * (1.0 - y_out)             # (21)
                    dnet[t, b, o_out + j] = d_nout
                d_yin = dr[b, o_in + j]
                d_yf = dr[b, o_f + j] if has_f else 0.0
                for v in range(S):
                    i = j * S + v
                    e_s = ds[b, i] + d_hs[i] * act.deriv(code_h, hs[t, b, i])   # (23)
                    if peep_back and has_out:
                        e_s += p_out[i] * d_nout
                    d_s[i] = e_s
                    d_yin += e_s * gc[t, b, i]
                    d_yf += e_s * ss[t, b, i]
                    dnet[t, b, i] = e_s * y_in * act.deriv(code_g, gc[t, b, i])  # (27-28)
                d_nin = d_yin * y_in * (1.0 - y_in)                     # (25-26)
                dnet[t, b, o_in + j] = d_nin
                d_nf = 0.0
                if has_f:
                    d_nf = d_yf * y_f * (1.0 - y_f)                     # (G00)
                    dnet[t, b, o_f + j] = d_nf
                for v in range(S):
                    i = j * S + v
                    e_prev = y_f * d_s[i]                               # CEC: ds(t-1) = y_f ds(t)
                    if peep_back:
                        e_prev += p_in[i] * d_nin
                        if has_f:
                            e_prev += p_f[i] * d_nf
                    ds[b, i] = e_prev
            for k in range(n_hid):
                y_h = rs[t + 1, b, o_hid + k]
                dnet[t, b, o_hid + k] = (dr[b, o_hid + k] + dy[t, b, H + k]) * y_h * (1.0 - y_h)  # (20)
            # Error reaching r(t-1): through R, or nowhere (truncated, or connectivity "B").
            for k in range(N):
                dr[b, k] = 0.0
            if send_back:
                for u in range(N):
                    e = dnet[t, b, u]
                    if e != 0.0:
                        for k in range(R.shape[1]):                     # N_r sources: N_u, or H
                            dr[b, k] += e * R[u, k]
    return dr, ds


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


class LSTM1997Cell(Cell):
    """Memory cell blocks (CEC, input/output gates shared by S cells), optional forget gate/peepholes."""

    name = "lstm1997"
    DEFAULTS = {
        "block_size": 1,          # S cells per block sharing gates; the paper uses 1 or 2
        "output_gate": True,      # False is Exp. 2a's form: y_out = 1
        "forget_gate": False,     # Gers et al. 2000; absent in 1997 (CEC self-weight 1)
        "peepholes": False,       # Gers et al. 2002; absent in 1997
        "recurrent": True,        # connectivity "F" (all but Exps 2a/2b); False = "B": inputs only
        "hidden_units": 0,        # conventional logistic units (eq. 20); no LSTM experiment uses any
        "bias_cell": True,        # bias switches per unit type: Table 10's "all" is every one on,
        "bias_in": True,          #   "ga" is gates only, "none" all off
        "bias_forget": True,
        "bias_out": True,
        "bias_hidden": True,
        "g": "g2",                # cell input squashing 4 sigma - 2, range [-2, 2]; Exp 2a: "logistic"
        "h": "h1",                # cell output squashing 2 sigma - 1, range [-1, 1]; Exp 2a: "identity"
        "init_range": 0.1,        # uniform +-r; the paper: 0.2 for Exps 1-2, 0.1 for Exps 3-6
        "in_gate_bias": None,     # None: random; a number or one per block (Exp 4: -3, -6)
        "out_gate_bias": None,    # None: random; a number or one per block (Exp 1: -1, -2, -3, -4)
        "forget_gate_bias": None,  # None: random; Gers 2000 uses positive, e.g. 0.5, 1.0, ...
        "state_decay": 1.0,       # d in s(t) = d s(t-1) + y_in g without a forget gate; Gers 2000 Table 2: 0.9
        "recurrent_sources": "all",  # "all": cells, gates, hidden units (1997, "F"); "cells": Gers 2000's CERG net
    }
    state_names = ("h", "c", "gates", "hid")

    # ------------------------------------------------------------------ options and layout
    def _check_options(self) -> None:
        o = self.options
        S = o["block_size"]
        if not isinstance(S, (int, np.integer)) or _is_bool(S) or S < 1:
            raise ValueError(f"lstm1997: block_size must be a positive int, got {S!r}")
        if self.hidden_size < 1 or self.hidden_size % S:
            raise ValueError(
                f"lstm1997: hidden_size (number of memory cells) must be a positive multiple of "
                f"block_size={S}, got {self.hidden_size}; use hidden_size = n_blocks * block_size"
            )
        if self.input_size < 0:
            raise ValueError(f"lstm1997: input_size must be >= 0, got {self.input_size}")
        for key in ("output_gate", "forget_gate", "peepholes", "recurrent", "bias_cell", "bias_in",
                    "bias_forget", "bias_out", "bias_hidden"):
            if not _is_bool(o[key]):
                raise TypeError(f"lstm1997: option {key} must be True or False, got {o[key]!r}")
        n = o["hidden_units"]
        if not isinstance(n, (int, np.integer)) or _is_bool(n) or n < 0:
            raise ValueError(f"lstm1997: hidden_units must be an int >= 0, got {n!r}")
        d = o["state_decay"]
        if not isinstance(d, Real) or _is_bool(d) or not 0.0 < d <= 1.0:
            raise ValueError(f"lstm1997: state_decay must be a number in (0, 1], got {d!r}")
        if d != 1.0 and o["forget_gate"]:
            raise ValueError(f"lstm1997: state_decay={d!r} with forget_gate=True; the forget gate is the learned "
                             f"decay (Gers et al. 2000 compare the two, they do not combine them): choose one")
        if o["recurrent_sources"] not in ("all", "cells"):
            raise ValueError(f"lstm1997: recurrent_sources must be 'all' (cells, gates, hidden units) or 'cells' "
                             f"(cell outputs only), got {o['recurrent_sources']!r}")
        self._g = act.get(o["g"])
        self._h = act.get(o["h"])
        r = o["init_range"]
        if not isinstance(r, Real) or _is_bool(r) or not r > 0:
            raise ValueError(f"lstm1997: init_range must be a positive number, got {r!r}")
        C = self.hidden_size // S
        for key, exists, why in (
            ("in_gate_bias", o["bias_in"], "bias_in=False"),
            ("out_gate_bias", o["output_gate"] and o["bias_out"], "output_gate or bias_out is False"),
            ("forget_gate_bias", o["forget_gate"] and o["bias_forget"],
             "forget_gate or bias_forget is False"),
        ):
            value = o[key]
            if value is None:
                continue
            if not exists:
                raise ValueError(f"lstm1997: {key}={value!r} given, but that bias does not exist "
                                 f"({why}); drop {key} or enable the bias")
            if isinstance(value, Real) and not _is_bool(value):
                continue
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"lstm1997: {key} must be None, a number or {C} numbers "
                                 f"(one per block), got {value!r}") from None
            if arr.shape != (C,):
                raise ValueError(f"lstm1997: {key} needs one number per block ({C} blocks), "
                                 f"got {len(arr.ravel())} value(s) {value!r}; give {C} numbers or a "
                                 f"single number for all blocks")

    @property
    def block_size(self) -> int:
        return int(self.options["block_size"])

    @property
    def n_blocks(self) -> int:
        return self.hidden_size // self.block_size

    @property
    def n_hidden_units(self) -> int:
        return int(self.options["hidden_units"])

    @property
    def n_gates(self) -> int:
        return 1 + int(self.options["forget_gate"]) + int(self.options["output_gate"])

    @property
    def n_units(self) -> int:
        """N_u = N_r: cells, gates and hidden units of the hidden layer."""
        return self.hidden_size + self.n_gates * self.n_blocks + self.n_hidden_units

    def unit_slices(self) -> dict[str, slice]:
        """Where each unit type sits among the N_u rows of W and R (and the N_r sources r)."""
        H, C = self.hidden_size, self.n_blocks
        out, at = {"cells": slice(0, H), "in": slice(H, H + C)}, H + C
        if self.options["forget_gate"]:
            out["f"], at = slice(at, at + C), at + C
        if self.options["output_gate"]:
            out["out"], at = slice(at, at + C), at + C
        out["hid"] = slice(at, at + self.n_hidden_units)
        return out

    @property
    def n_sources(self) -> int:
        """N_r: the recurrent sources, the first N_r units of r (all units, or the cells only)."""
        return self.hidden_size if self.options["recurrent_sources"] == "cells" else self.n_units

    @property
    def output_size(self) -> int:
        return self.hidden_size + self.n_hidden_units

    def state_sizes(self):
        return {"h": self.hidden_size, "c": self.hidden_size,
                "gates": self.n_gates * self.n_blocks, "hid": self.n_hidden_units}

    def param_shapes(self):
        o = self.options
        H, C, I, N, n_hid = self.hidden_size, self.n_blocks, self.input_size, self.n_units, self.n_hidden_units
        shapes = {"W": (N, I)}
        if o["recurrent"]:
            shapes["R"] = (N, self.n_sources)
        if o["bias_cell"]:
            shapes["b_c"] = (H,)
        if o["bias_in"]:
            shapes["b_in"] = (C,)
        if o["forget_gate"] and o["bias_forget"]:
            shapes["b_f"] = (C,)
        if o["output_gate"] and o["bias_out"]:
            shapes["b_out"] = (C,)
        if n_hid and o["bias_hidden"]:
            shapes["b_hid"] = (n_hid,)
        if o["peepholes"]:
            shapes["p_in"] = (H,)
            if o["forget_gate"]:
                shapes["p_f"] = (H,)
            if o["output_gate"]:
                shapes["p_out"] = (H,)
        return shapes

    def init_params(self, params, rng):
        r = float(self.options["init_range"])
        for name, shape in self.param_shapes().items():
            params[name][...] = rng.uniform(-r, r, size=shape)
        for key, name in (("in_gate_bias", "b_in"), ("out_gate_bias", "b_out"),
                          ("forget_gate_bias", "b_f")):
            if self.options[key] is not None:
                params[name][...] = np.broadcast_to(np.asarray(self.options[key], dtype=np.float64),
                                                    (self.n_blocks,))

    # ------------------------------------------------------------------ kernels' arguments
    _BIASES = (("b_c", "cells"), ("b_in", "in"), ("b_f", "f"), ("b_out", "out"), ("b_hid", "hid"))

    def _flags(self):
        o = self.options
        return (self.block_size, int(o["forget_gate"]), int(o["output_gate"]), int(o["peepholes"]),
                int(o["recurrent"]))

    def _peeps(self, params, dtype):
        empty = np.zeros(0, dtype=dtype)   # one kernel signature whether or not a peephole exists
        return tuple(params[k] if k in params else empty for k in ("p_in", "p_f", "p_out"))

    def _R(self, params, dtype):
        return params["R"] if "R" in params else np.zeros((0, 0), dtype=dtype)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, params, x, state0=None, mask=None):
        T, B, I = x.shape
        H, N = self.hidden_size, self.n_units
        if mask is None:
            mask = np.ones((T, B), dtype=np.bool_)
        if state0 is None:
            state0 = self.zero_state(B)
        sl = self.unit_slices()
        bias = np.zeros(N, dtype=x.dtype)                                      # (N_u,)
        for name, unit in self._BIASES:
            if name in params:
                bias[sl[unit]] = params[name]
        # Input projection for all steps in one product; only the recurrence runs step by step.
        xw = (x.reshape(T * B, I) @ params["W"].T + bias).reshape(T, B, N)     # (T, B, N_u)
        rs = np.empty((T + 1, B, N), dtype=x.dtype)                            # r(0..T)
        rs[0, :, :H] = state0[0]
        rs[0, :, H:sl["hid"].start] = state0[2]
        rs[0, :, sl["hid"]] = state0[3]
        ss = np.empty((T + 1, B, H), dtype=x.dtype)                            # s(0..T)
        ss[0] = state0[1]
        net_c = np.empty((T, B, H), dtype=x.dtype)
        gc = np.empty((T, B, H), dtype=x.dtype)                                # g(net_c)
        hs = np.empty((T, B, H), dtype=x.dtype)                                # h(s(t))
        y = np.zeros((T, B, self.output_size), dtype=x.dtype)
        S, has_f, has_out, has_peep, recurrent = self._flags()
        RT = np.ascontiguousarray(self._R(params, x.dtype).T)                 # (N_r, N_u)
        _forward_kernel(xw, RT, *self._peeps(params, x.dtype), mask, S, has_f,
                        has_out, has_peep, recurrent, self._g.code, self._h.code, rs, ss, net_c, gc, hs, y,
                        float(self.options["state_decay"]))
        stateT = (rs[T, :, :H].copy(), ss[T].copy(), rs[T, :, H:sl["hid"].start].copy(),
                  rs[T, :, sl["hid"]].copy())
        return y, stateT, (x, mask, rs, ss, net_c, gc, hs)

    def backward(self, params, cache, dy, dstate, grads, truncated=False):
        x, mask, rs, ss, net_c, gc, hs = cache
        T, B, I = x.shape
        H, N = self.hidden_size, self.n_units
        sl = self.unit_slices()
        dr0 = np.zeros((B, N), dtype=dy.dtype)                                 # error reaching r(T)
        ds0 = np.zeros((B, H), dtype=dy.dtype)                                 # error reaching s(T)
        if dstate is not None:
            dr0[:, :H] = dstate[0]
            ds0[...] = dstate[1]
            dr0[:, H:sl["hid"].start] = dstate[2]
            dr0[:, sl["hid"]] = dstate[3]
        dnet = np.empty((T, B, N), dtype=dy.dtype)                             # (T, B, N_u)
        S, has_f, has_out, has_peep, recurrent = self._flags()
        dr, ds = _backward_kernel(rs, ss, gc, hs, np.ascontiguousarray(dy), dr0, ds0,
                                  self._R(params, dy.dtype), *self._peeps(params, dy.dtype), mask, S,
                                  has_f, has_out, has_peep, recurrent, int(bool(truncated)),
                                  self._g.code, self._h.code, dnet, float(self.options["state_decay"]))
        # Weight gradients as large products over all steps at once (masked steps have dnet = 0).
        dnet2 = dnet.reshape(T * B, N)
        grads["W"] += dnet2.T @ x.reshape(T * B, I)
        if "R" in grads:
            Nr = self.n_sources
            grads["R"] += dnet2.T @ rs[:-1, :, :Nr].reshape(T * B, Nr)
        dnet_sum = dnet2.sum(axis=0)
        for name, unit in self._BIASES:
            if name in grads:
                grads[name] += dnet_sum[sl[unit]]
        for name, unit, s in (("p_in", "in", ss[:-1]), ("p_f", "f", ss[:-1]), ("p_out", "out", ss[1:])):
            if name in grads:
                # Each block's gate error, repeated over its S cells, times the state each peephole saw.
                d_gate = np.repeat(dnet[:, :, sl[unit]], S, axis=2)            # (T, B, H)
                grads[name] += np.einsum("tbi,tbi->i", d_gate, s)
        dx = (dnet2 @ params["W"]).reshape(T, B, I)
        return dx, (dr[:, :H].copy(), ds, dr[:, H:sl["hid"].start].copy(), dr[:, sl["hid"]].copy())

    def internals(self, cache):
        """Per-step values (T, B, n); at masked steps the carried state, and net_c = 0."""
        _, _, rs, ss, net_c, _, _ = cache
        sl = self.unit_slices()
        out = {"in": rs[1:, :, sl["in"]]}
        if "f" in sl:
            out["f"] = rs[1:, :, sl["f"]]
        if "out" in sl:
            out["out"] = rs[1:, :, sl["out"]]
        out["s"] = ss[1:]
        out["y_c"] = rs[1:, :, sl["cells"]]
        out["net_c"] = net_c
        if self.n_hidden_units:
            out["hid"] = rs[1:, :, sl["hid"]]
        return out
