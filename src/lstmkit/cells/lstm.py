"""The modern LSTM layer: forget gate (Gers 2000), peepholes (Gers 2002) and Greff et al.'s variants as switches.

Equations, per step t, for the blocks i (input gate), f (forget gate), z (cell input, PyTorch's g) and
o (output gate); sigma = ``gate_activation``, g = ``cell_input_activation``, h_act = ``cell_output_activation``,
a(t-1) = the previous step's gate activations (only with full gate recurrence)::

    net(t) = W x(t) + R h(t-1) + F a(t-1) + b                  net inputs of all blocks      (L1)
    i(t)   = sigma(net_i + p_i * c(t-1))                        input gate  (NIG: i = 1)      (L2)
    f(t)   = sigma(net_f + p_f * c(t-1))                        forget gate (NFG: f = 1,      (L3)
                                                                             CIFG: f = 1 - i)
    z(t)   = g(net_z)                                           cell input                    (L4)
    c(t)   = f(t) * c(t-1) + i(t) * z(t)                        cell state (CEC)              (L5)
    o(t)   = sigma(net_o + p_o * c(t))                          output gate (NOG: o = 1)      (L6)
    h(t)   = o(t) * s(t),   s(t) = h_act(c(t))                  output = y(t)                 (L7)

The peepholes follow Gers et al. (2002): i and f look at the old state c(t-1), o at the new c(t); each
is diagonal (one weight per cell and gate). F only feeds the gates, not z.

Backward, visiting the same symbols in reverse (d_net = error at a net input, i.e. a pre-activation;
d_c_next = the error step t+1 sent to c(t) by its (L5') line, d_a = error reaching a(t), FGR only)::

    d_h      = dy(t) + d_net(t+1) R                             error reaching h(t)      (L7', L1')
    d_a      = d_net_gates(t+1) F                               error reaching a(t)      (L1')
    d_o      = d_h * s + d_a_o                                                           (L7')
    d_net_o  = d_o * sigma'(o)                                                           (L6')
    d_c      = d_c_next + d_h * o * h_act'(s) + d_net_o * p_o   error reaching c(t)      (L7', L6')
    d_i = d_c * z + d_a_i,   d_f = d_c * c(t-1) + d_a_f,   d_z = d_c * i                 (L5')
    CIFG: d_i -= d_f                                                                     (L3')
    d_net_i  = d_i * sigma'(i),  d_net_f = d_f * sigma'(f),  d_net_z = d_z * g'(z)       (L2'-L4')
    d_c(t-1) = d_c * f + d_net_i * p_i + d_net_f * p_f          sent to step t-1         (L5', L2', L3')
    dW = sum_t d_net^T x,  dR = sum_t d_net^T h(t-1),  db = sum_t d_net,  dx = d_net W
    dp_i = sum d_net_i * c(t-1),  dp_f = sum d_net_f * c(t-1),  dp_o = sum d_net_o * c(t)
    dF = sum_t d_net_gates^T a(t-1)

``truncated=True`` gives the truncated gradient of Hochreiter & Schmidhuber (1997) as extended to forget
gates and peepholes by Gers et al. (2000, 2002): error that reaches a net input at step t updates the
weights (and still reaches x(t): dx is the same-step error), but it is not sent on to h(t-1), to a(t-1),
or back into c through the peepholes (the d_net * p terms above are dropped). Error flows back in time
only through the cell state, c(t) -> c(t-1) via f. Equivalently: the exact gradient of a forward in which
h(t-1), a(t-1) and the peepholes' c entering the net inputs are constants. A masked step still hands
every state error on unchanged, because the state itself is carried unchanged there.

Parameters (G blocks = the computed ones among i, f, z, o in that order; n gates = the computed ones
among i, f, o; NIG drops i, NFG and CIFG drop f, NOG drops o; z is always there)::

    =========  ==============  ==================================================================
    parameter  shape           meaning, packing
    =========  ==============  ==================================================================
    W          (G*H, I)        input weights, row blocks [W_i; W_f; W_z; W_o] (present ones)
    R          (G*H, H)        recurrent weights, same row blocks
    b          (G*H,)          bias, same blocks (PyTorch's b_ih + b_hh)
    p          (n, H)          peephole weights, rows p_i, p_f, p_o (present gates; only peepholes)
    F          (n*H, n*H)      gate-to-gate recurrent weights: row blocks = gates i, f, o (present),
                               column blocks = a(t-1) of the same gates (only full_gate_recurrence)
    =========  ==============  ==================================================================

With all gates, the packing of W, R, b is PyTorch's (i, f, g, o), so torch.nn.LSTM weights copy across.
State: ``h`` (B, H), ``c`` (B, H), and with full gate recurrence ``gates`` (B, n*H), the previous
activations a(t-1) of the present gates in the order i, f, o.

Initialisation: every parameter uniform in [-r, r], r = 1/sqrt(H) as torch.nn.LSTM (or ``init_range``);
then ``forget_bias`` is added to the forget-gate bias. With CIFG, f = 1 - sigma(net_i) = sigma(-net_i), so
the same shift is applied as -forget_bias on the input-gate bias: the initial forget gate is the same.

Variants (Greff et al. 2017; each is "vanilla" = forget gate + peepholes + tanh, with one change):
NIG, NFG, NOG (no input/forget/output gate), NIAF/NOAF (identity cell input/output activation),
NP (no peepholes), CIFG (coupled input-forget gate), FGR (full gate recurrence).

Kernels: this file's Numba kernels are the readable reference. ``kernel="auto"`` runs the fast ones in
``lstm_fast`` when that module supports the cell and the caller did not ask for internals; the cache
records which path made it, and backward and internals follow that record.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import activations as act
from .._numba import njit
from . import lstm_toolbox
from .base import Cell

BLOCKS = ("i", "f", "z", "o")  # packing order of W, R, b (PyTorch's i, f, g, o)
GATES = ("i", "f", "o")         # order of peephole rows, of F's blocks and of the gate state
KERNELS = ("auto", "reference", "fast")

VARIANTS: dict[str, dict] = {
    "vanilla": {"peepholes": True},
    "NIG": {"peepholes": True, "input_gate": False},
    "NFG": {"peepholes": True, "forget_gate": False},
    "NOG": {"peepholes": True, "output_gate": False},
    "NIAF": {"peepholes": True, "cell_input_activation": "identity"},
    "NOAF": {"peepholes": True, "cell_output_activation": "identity"},
    "NP": {"peepholes": False},
    "CIFG": {"peepholes": True, "coupled": True},
    "FGR": {"peepholes": True, "full_gate_recurrence": True},
}
_VARIANT_KEYS = {name.lower(): name for name in VARIANTS}


def _fast():
    # Imported on use: lstm_fast may import this module, and a cycle at import time would break both.
    from . import lstm_fast

    return lstm_fast


@njit
def _forward_kernel(xw, RT, FT, P, mask, offs, goffs, coupled, fgr, codes, hs, cs, gs, acts, ss):
    """Run (L1)-(L7) over all steps, filling hs, cs, gs (T+1, B, .) and acts (T, B, G*H), ss (T, B, H).

    xw (T, B, G*H) holds W x(t) + b; offs = column offsets of i, f, z, o in a net-input row (-1: absent);
    goffs = the offsets of the gates in state order; codes = (sigma, g, h_act) activation codes.
    hs[0], cs[0], gs[0] must hold the initial state.
    """
    T, B, _ = xw.shape
    H = hs.shape[2]
    oi, of, oz, oo = offs[0], offs[1], offs[2], offs[3]
    gate, cell_in, cell_out = codes[0], codes[1], codes[2]
    n_gates = goffs.shape[0]
    for t in range(T):
        net = xw[t] + np.dot(hs[t], RT)                                    # (L1), (B, G*H)
        if fgr:
            fa = np.dot(gs[t], FT)                                         # (L1) F a(t-1), (B, n*H)
            for b in range(B):
                for k in range(n_gates):
                    for j in range(H):
                        net[b, goffs[k] + j] += fa[b, k * H + j]
        for b in range(B):
            if not mask[t, b]:                                             # padding: carry the state
                hs[t + 1, b] = hs[t, b]
                cs[t + 1, b] = cs[t, b]
                gs[t + 1, b] = gs[t, b]
                acts[t, b] = 0.0
                ss[t, b] = 0.0
                continue
            for j in range(H):
                c_prev = cs[t, b, j]
                i = act.apply(gate, net[b, oi + j] + P[0, j] * c_prev) if oi >= 0 else 1.0  # (L2)
                if coupled:
                    f = 1.0 - i                                            # (L3) CIFG
                elif of >= 0:
                    f = act.apply(gate, net[b, of + j] + P[1, j] * c_prev)  # (L3)
                else:
                    f = 1.0                                                # (L3) NFG
                z = act.apply(cell_in, net[b, oz + j])                     # (L4)
                c = f * c_prev + i * z                                     # (L5)
                o = act.apply(gate, net[b, oo + j] + P[2, j] * c) if oo >= 0 else 1.0  # (L6)
                s = act.apply(cell_out, c)                                 # (L7)
                hs[t + 1, b, j] = o * s                                    # (L7)
                cs[t + 1, b, j] = c
                ss[t, b, j] = s
                if oi >= 0:
                    acts[t, b, oi + j] = i
                if of >= 0:
                    acts[t, b, of + j] = f
                acts[t, b, oz + j] = z
                if oo >= 0:
                    acts[t, b, oo + j] = o
            if fgr:
                for k in range(n_gates):                                   # a(t) for the next step
                    for j in range(H):
                        gs[t + 1, b, k * H + j] = acts[t, b, goffs[k] + j]


@njit
def _backward_kernel(R, F, P, cs, acts, ss, dy, mask, offs, goffs, kidx, coupled, fgr, truncated,
                     codes, dh, dc, dg, dnet):
    """Fill dnet (T, B, G*H) with the net-input errors (L7')-(L1').

    dh, dc (B, H) and dg (B, n*H) come in holding the error at the final state and leave holding the
    error at the initial state. kidx = state slots of i, f, o among the gates (-1: absent).
    """
    T, B, H = dy.shape
    oi, of, oz, oo = offs[0], offs[1], offs[2], offs[3]
    ki, kf, ko = kidx[0], kidx[1], kidx[2]
    gate, cell_in, cell_out = codes[0], codes[1], codes[2]
    n_gates = goffs.shape[0]
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if not mask[t, b]:
                dnet[t, b] = 0.0            # state carried unchanged: dh, dc, dg pass through as they are
                continue
            for j in range(H):
                c_prev = cs[t, b, j]
                i = acts[t, b, oi + j] if oi >= 0 else 1.0
                if coupled:
                    f = 1.0 - i
                elif of >= 0:
                    f = acts[t, b, of + j]
                else:
                    f = 1.0
                z = acts[t, b, oz + j]
                o = acts[t, b, oo + j] if oo >= 0 else 1.0
                s = ss[t, b, j]
                d_h = dy[t, b, j] + dh[b, j]                               # (L7')
                d_o = d_h * s                                              # (L7')
                d_i = 0.0
                d_f = 0.0
                if fgr:                                                    # error reaching a(t) from t+1
                    if ki >= 0:
                        d_i += dg[b, ki * H + j]
                    if kf >= 0:
                        d_f += dg[b, kf * H + j]
                    if ko >= 0:
                        d_o += dg[b, ko * H + j]
                d_c = dc[b, j] + d_h * o * act.deriv(cell_out, s)          # (L7')
                d_net_o = d_o * act.deriv(gate, o) if oo >= 0 else 0.0     # (L6')
                if not truncated:
                    d_c += d_net_o * P[2, j]                               # (L6') peephole into c(t)
                d_i += d_c * z                                             # (L5')
                d_f += d_c * c_prev                                        # (L5')
                d_z = d_c * i                                              # (L5')
                if coupled:
                    d_i -= d_f                                             # (L3') f = 1 - i
                d_net_i = d_i * act.deriv(gate, i) if oi >= 0 else 0.0    # (L2')
                d_net_f = d_f * act.deriv(gate, f) if of >= 0 else 0.0    # (L3')
                d_net_z = d_z * act.deriv(cell_in, z)                      # (L4')
                d_c_prev = d_c * f                                         # (L5') the CEC
                if not truncated:
                    d_c_prev += d_net_i * P[0, j] + d_net_f * P[1, j]      # (L2', L3') peepholes
                dc[b, j] = d_c_prev
                if oi >= 0:
                    dnet[t, b, oi + j] = d_net_i
                if of >= 0:
                    dnet[t, b, of + j] = d_net_f
                dnet[t, b, oz + j] = d_net_z
                if oo >= 0:
                    dnet[t, b, oo + j] = d_net_o
        if truncated:                       # (L1') cut: net-input error does not reach h(t-1), a(t-1)
            for b in range(B):
                if mask[t, b]:
                    dh[b] = 0.0
                    dg[b] = 0.0
            continue
        back = np.dot(dnet[t], R)                                          # (L1') reaching h(t-1)
        for b in range(B):
            if mask[t, b]:
                dh[b] = back[b]
        if fgr:
            dnet_gates = np.empty((B, n_gates * H), dtype=dnet.dtype)      # (B, n*H)
            for b in range(B):
                for k in range(n_gates):
                    for j in range(H):
                        dnet_gates[b, k * H + j] = dnet[t, b, goffs[k] + j]
            back_g = np.dot(dnet_gates, F)                                 # (L1') reaching a(t-1)
            for b in range(B):
                if mask[t, b]:
                    dg[b] = back_g[b]


class _RefCache(NamedTuple):
    """What the reference backward needs from the reference forward."""

    x: np.ndarray      # (T, B, I)
    mask: np.ndarray   # (T, B) bool
    hs: np.ndarray     # (T+1, B, H)  h(0..T)
    cs: np.ndarray     # (T+1, B, H)  c(0..T)
    gs: np.ndarray     # (T+1, B, n*H) a(0..T), n = 0 without full gate recurrence
    acts: np.ndarray   # (T, B, G*H)  i, f, z, o after their squashing, zero at masked steps
    ss: np.ndarray     # (T, B, H)    h_act(c(t)), zero at masked steps


class LSTMCell(Cell):
    """LSTM layer with forget gate, optional peepholes and Greff et al.'s variants (equations: module docstring)."""

    name = "lstm"
    DEFAULTS = {
        "variant": None,                    # shorthand for a Greff et al. variant; explicit options win over it
        "forget_gate": True,                # Gers 2000: lets a cell reset itself on continual streams
        "input_gate": True,                 # the 1997 gate; False is Greff's NIG
        "output_gate": True,                # the 1997 gate; False is Greff's NOG
        "coupled": False,                   # CIFG saves a block of weights; off as in torch.nn.LSTM
        "peepholes": False,                 # off as in torch.nn.LSTM, so the default cell converts exactly
        "full_gate_recurrence": False,      # FGR adds (n*H)^2 weights and did not help in Greff et al.
        "gate_activation": "logistic",      # gates open in [0, 1]
        "cell_input_activation": "tanh",    # as torch.nn.LSTM and Greff's vanilla; "identity" is NIAF
        "cell_output_activation": "tanh",   # bounds h although c is not; "identity" is NOAF
        "forget_bias": 0.0,                 # 0 as torch.nn.LSTM; Gers 2000 and Jozefowicz 2015 advise > 0 (1.0)
        "init_range": None,                 # None: uniform 1/sqrt(H) as torch.nn.LSTM; a number r: uniform [-r, r]
        "kernel": "auto",                   # fast kernels when they support the cell, else the reference
        # Today's toolbox (lstm_toolbox.py has the equations); all off, so the cell is torch.nn.LSTM's.
        "proj_size": 0,                     # LSTMP (Sak 2014): h = W_r m of size P < H; 0 = no projection
        "layer_norm": False,                # Ba et al. 2016: LN on the net inputs and on the cell state
        "input_dropout": 0.0,               # Gal & Ghahramani 2016: one mask per sequence on x
        "recurrent_dropout": 0.0,           # Gal & Ghahramani 2016: one mask per sequence on h(t-1)
        "zoneout_cell": 0.0,                # Krueger et al. 2017: a unit of c keeps its old value w.p. z
        "zoneout_hidden": 0.0,              # the same for h
        "weight_drop": 0.0,                 # Merity et al. 2018 (AWD-LSTM): DropConnect on R per forward
    }

    def __init__(self, input_size: int, hidden_size: int, dtype="float64", **options):
        self._explicit = frozenset(options)  # options the caller named: they override the variant's
        super().__init__(input_size, hidden_size, dtype, **options)

    # ------------------------------------------------------------------ options and layout
    def _check_options(self) -> None:
        opts = self.options
        variant = opts["variant"]
        if variant is not None:
            key = _VARIANT_KEYS.get(variant.lower()) if isinstance(variant, str) else None
            if key is None:
                raise ValueError(
                    f"lstm: variant must be None or one of {', '.join(VARIANTS)}; got {variant!r}; "
                    f"fix: pick one of those names or set the options one by one"
                )
            given = {k: opts[k] for k in self._explicit}
            opts = self.options = {**self.DEFAULTS, **VARIANTS[key], **given, "variant": key}

        for name in ("forget_gate", "input_gate", "output_gate", "coupled", "peepholes", "full_gate_recurrence"):
            if not isinstance(opts[name], (bool, np.bool_)):
                raise ValueError(f"lstm: {name} must be True or False, got {opts[name]!r}")
        self._acts = {}
        for name in ("gate_activation", "cell_input_activation", "cell_output_activation"):
            try:
                self._acts[name] = act.get(opts[name])
            except (TypeError, ValueError) as err:
                raise ValueError(f"lstm: {name}={opts[name]!r} is not an activation: {err}") from None
        fb = opts["forget_bias"]
        if isinstance(fb, bool) or not isinstance(fb, (int, float, np.integer, np.floating)) or not np.isfinite(fb):
            raise ValueError(f"lstm: forget_bias must be a finite number, got {fb!r}")
        r = opts["init_range"]
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float, np.integer, np.floating))
                              or not r > 0):
            raise ValueError(f"lstm: init_range must be a positive number or None, got {r!r}")
        if opts["kernel"] not in KERNELS:
            raise ValueError(f"lstm: kernel must be one of {', '.join(KERNELS)}, got {opts['kernel']!r}")

        if opts["coupled"] and not (opts["input_gate"] and opts["forget_gate"]):
            raise ValueError(
                "lstm: coupled=True (CIFG, f = 1 - i) expects input_gate=True and forget_gate=True; got "
                f"input_gate={opts['input_gate']}, forget_gate={opts['forget_gate']}; "
                "fix: drop coupled, or keep both gates"
            )
        if not opts["forget_gate"] and fb != 0:
            raise ValueError(
                f"lstm: forget_bias={fb!r} expects a forget gate, got forget_gate=False (f = 1); "
                "fix: forget_bias=0.0 or forget_gate=True"
            )

        # Layout: which blocks are computed, where each sits in a net-input row.
        present = {
            "i": opts["input_gate"],
            "f": opts["forget_gate"] and not opts["coupled"],  # CIFG computes f from i: no weights of its own
            "z": True,
            "o": opts["output_gate"],
        }
        H = self.hidden_size
        self.block_names = tuple(k for k in BLOCKS if present[k])
        self.gate_names = tuple(k for k in GATES if present[k])
        if not self.gate_names and (opts["peepholes"] or opts["full_gate_recurrence"]):
            raise ValueError(
                "lstm: peepholes and full_gate_recurrence expect at least one gate; got input_gate, "
                "forget_gate and output_gate all False; fix: keep a gate or turn these off"
            )
        self._offs = np.array([self.block_names.index(k) * H if present[k] else -1 for k in BLOCKS], dtype=np.int64)
        self._goffs = np.array([self.block_names.index(k) * H for k in self.gate_names], dtype=np.int64)
        self._kidx = np.array([self.gate_names.index(k) if k in self.gate_names else -1 for k in GATES], dtype=np.int64)
        self._codes = np.array([self._acts[n].code for n in
                                ("gate_activation", "cell_input_activation", "cell_output_activation")],
                               dtype=np.int64)
        self._gate_cols = (np.concatenate([np.arange(o, o + H) for o in self._goffs])
                           if self.gate_names else np.zeros(0, dtype=np.int64))
        self.state_names = ("h", "c", "gates") if opts["full_gate_recurrence"] else ("h", "c")
        lstm_toolbox.check(self)
        self._toolbox = lstm_toolbox.active(opts)   # the toolbox module computes this cell

        if opts["kernel"] == "fast" and not _fast().supports(self):
            raise ValueError(
                f"lstm: kernel='fast' expects lstm_fast to support this cell, got a cell it does not support "
                f"({self!r}, dtype {self.dtype}); fix: kernel='auto' or kernel='reference'"
            )

    @property
    def output_size(self) -> int:
        """P = proj_size with a projection (LSTMP), else H."""
        return self.options["proj_size"] or self.hidden_size

    @property
    def stochastic(self) -> bool:
        return lstm_toolbox.stochastic(self.options)

    def state_sizes(self):
        sizes = {"h": self.output_size, "c": self.hidden_size}
        if self.options["full_gate_recurrence"]:
            sizes["gates"] = len(self.gate_names) * self.hidden_size
        return sizes

    def param_shapes(self):
        H, I, G, n = self.hidden_size, self.input_size, len(self.block_names), len(self.gate_names)
        shapes = {"W": (G * H, I), "R": (G * H, H), "b": (G * H,)}
        if self.options["peepholes"]:
            shapes["p"] = (n, H)
        if self.options["full_gate_recurrence"]:
            shapes["F"] = (n * H, n * H)
        if self._toolbox:
            lstm_toolbox.param_shapes(self, shapes)
        return shapes

    def init_params(self, params, rng):
        r = self.options["init_range"] or 1.0 / np.sqrt(self.hidden_size)
        for name in self.param_shapes():
            params[name][...] = rng.uniform(-r, r, size=params[name].shape)
        fb, H = self.options["forget_bias"], self.hidden_size
        if self.options["coupled"]:
            oi = self._offs[0]
            params["b"][oi : oi + H] -= fb     # f = sigma(-net_i): a forget bias is minus an input bias
        elif "f" in self.block_names:
            of = self._offs[1]
            params["b"][of : of + H] += fb
        lstm_toolbox.init_params(params)

    # ------------------------------------------------------------------ forward / backward
    def _peephole_matrix(self, params, dtype):
        """(3, H) peephole weights for i, f, o; zero rows for absent gates or without peepholes."""
        P = np.zeros((3, self.hidden_size), dtype=dtype)
        if self.options["peepholes"]:
            for k, g in enumerate(self.gate_names):
                P[GATES.index(g)] = params["p"][k]
        return P

    def _check_state(self, state, B, what):
        sizes = self.state_sizes()
        if len(state) != len(self.state_names):
            raise ValueError(
                f"lstm: {what} expects {len(self.state_names)} arrays {self.state_names}, got {len(state)}; "
                f"fix: pass one (B, size) array per name (cell.zero_state(B) has the right form)"
            )
        for name, s in zip(self.state_names, state):
            if s is not None and np.shape(s) != (B, sizes[name]):
                raise ValueError(
                    f"lstm: {what} {name!r} expects shape {(B, sizes[name])}, got {np.shape(s)}; "
                    "fix: pass (batch, size) arrays in the order of cell.state_names"
                )

    def forward(self, params, x, state0, mask=None, *, need_internals: bool = False, rng=None):
        """Return ``(y, stateT, cache)``; ``need_internals=True`` keeps the reference path under "auto".

        ``rng`` (a Generator) draws the dropout and zoneout masks of a training forward; None evaluates.
        """
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"lstm: x expects shape (T, B, {self.input_size}), got {x.shape}")
        T, B, _ = x.shape
        if state0 is None:
            state0 = self.zero_state(B)
        self._check_state(state0, B, "state0")
        if mask is None:
            mask = np.ones((T, B), dtype=np.bool_)
        elif mask.shape != (T, B):
            raise ValueError(f"lstm: mask expects shape {(T, B)}, got {mask.shape}")
        if self._toolbox:
            y, stateT, cache = lstm_toolbox.forward(self, params, x, tuple(state0), mask, rng)
            return y, stateT, ("toolbox", cache)
        kernel = self.options["kernel"]
        if kernel == "fast" or (kernel == "auto" and not need_internals and _fast().supports(self)):
            y, stateT, cache = _fast().forward(self, params, x, tuple(state0), mask)
            return y, stateT, ("fast", cache)

        H, G, n = self.hidden_size, len(self.block_names), len(self.gate_names)
        fgr = self.options["full_gate_recurrence"]
        # Input projection for all steps in one product; only the recurrence runs step by step.
        xw = (x.reshape(T * B, -1) @ params["W"].T + params["b"]).reshape(T, B, G * H)  # (T, B, G*H)
        hs = np.empty((T + 1, B, H), dtype=x.dtype)                                     # h(0..T)
        cs = np.empty((T + 1, B, H), dtype=x.dtype)                                     # c(0..T)
        gs = np.empty((T + 1, B, n * H if fgr else 0), dtype=x.dtype)                   # a(0..T)
        acts = np.empty((T, B, G * H), dtype=x.dtype)                                   # i, f, z, o
        ss = np.empty((T, B, H), dtype=x.dtype)                                         # h_act(c)
        hs[0], cs[0] = state0[0], state0[1]
        if fgr:
            gs[0] = state0[2]
            FT = np.ascontiguousarray(params["F"].T)
        else:
            FT = np.zeros((0, 0), dtype=x.dtype)
        _forward_kernel(xw, np.ascontiguousarray(params["R"].T), FT, self._peephole_matrix(params, x.dtype),
                        mask, self._offs, self._goffs, self.options["coupled"], fgr, self._codes,
                        hs, cs, gs, acts, ss)
        y = hs[1:] * mask[:, :, None]
        stateT = (hs[T].copy(), cs[T].copy(), gs[T].copy()) if fgr else (hs[T].copy(), cs[T].copy())
        return y, stateT, ("reference", _RefCache(x, mask, hs, cs, gs, acts, ss))

    def backward(self, params, cache, dy, dstate, grads, truncated=False):
        path, inner = cache
        if path == "fast":
            return _fast().backward(self, params, inner, dy, dstate, grads, truncated)
        if path == "toolbox":
            if dstate is None:
                dstate = (None,) * len(self.state_names)
            self._check_state(dstate, dy.shape[1], "dstate")
            return lstm_toolbox.backward(self, params, inner, dy, dstate, grads, truncated)
        x, mask, hs, cs, gs, acts, ss = inner
        T, B, H = dy.shape
        G, n = len(self.block_names), len(self.gate_names)
        fgr = self.options["full_gate_recurrence"]
        dt = hs.dtype
        if dstate is None:
            dstate = (None,) * len(self.state_names)
        self._check_state(dstate, B, "dstate")
        # The kernel updates these in place: final-state errors in, initial-state errors out.
        sizes = self.state_sizes()
        errs = [np.zeros((B, sizes[k]), dtype=dt) if d is None else np.array(d, dtype=dt)
                for k, d in zip(self.state_names, dstate)]
        dh, dc = errs[0], errs[1]                                                       # (B, H) each
        dg = errs[2] if fgr else np.zeros((B, 0), dtype=dt)                             # (B, n*H)
        dnet = np.empty((T, B, G * H), dtype=dt)                                        # (T, B, G*H)
        F = np.ascontiguousarray(params["F"]) if fgr else np.zeros((0, 0), dtype=dt)
        _backward_kernel(np.ascontiguousarray(params["R"]), F, self._peephole_matrix(params, dt),
                         cs, acts, ss, np.ascontiguousarray(dy, dtype=dt), mask, self._offs, self._goffs,
                         self._kidx, self.options["coupled"], fgr, bool(truncated), self._codes,
                         dh, dc, dg, dnet)
        # Weight gradients as large products over all steps at once.
        dnet2 = dnet.reshape(T * B, G * H)
        grads["W"] += dnet2.T @ x.reshape(T * B, -1)
        grads["R"] += dnet2.T @ hs[:-1].reshape(T * B, H)
        grads["b"] += dnet2.sum(axis=0)
        if self.options["peepholes"]:
            for k, g in enumerate(self.gate_names):
                src = cs[1:] if g == "o" else cs[:-1]      # o looks at c(t), i and f at c(t-1)
                off = self._goffs[k]
                grads["p"][k] += np.einsum("tbh,tbh->h", dnet[:, :, off : off + H], src)
        if fgr:
            grads["F"] += dnet2[:, self._gate_cols].T @ gs[:-1].reshape(T * B, n * H)
        dx = (dnet2 @ params["W"]).reshape(T, B, -1)
        return dx, ((dh, dc, dg) if fgr else (dh, dc))

    def internals(self, cache):
        """i, f, z, o, c, h of the last forward (those that exist), each (T, B, H), zero at masked steps."""
        path, inner = cache
        if path == "fast":
            return _fast().internals(self, inner)
        if path == "toolbox":
            return lstm_toolbox.internals(self, inner)
        H = self.hidden_size
        m = inner.mask[:, :, None]
        out = {}
        for k, name in enumerate(BLOCKS):
            off = self._offs[k]
            if off >= 0:
                out[name] = inner.acts[:, :, off : off + H].copy()
        if self.options["coupled"]:
            out["f"] = (1.0 - out["i"]) * m
        out = {k: out[k] for k in BLOCKS if k in out}   # keep the order i, f, z, o
        out["c"] = inner.cs[1:] * m
        out["h"] = inner.hs[1:] * m
        return out
