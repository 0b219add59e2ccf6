"""LSTM1997Cell: the paper's weight counts, exact and truncated gradients, masks, options."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from lstmkit import activations as act
from lstmkit.cells.lstm1997 import LSTM1997Cell
from lstmkit.gradcheck import numerical_gradient, relative_error as rel_err
from lstmkit.params import ParamSet

EPS = 1e-6
TOL = 1e-6


def make(input_size, hidden_size, seed=0, **opts):
    cell = LSTM1997Cell(input_size, hidden_size, **opts)
    p = ParamSet(cell.param_shapes())
    cell.init_params(p.params, np.random.default_rng(seed))
    return cell, p


# ---------------------------------------------------------------------------- reference forward
def np_forward(cell, params, x, state0, mask, frozen=None):
    """Plain NumPy forward of the documented equations.

    With ``frozen`` (the ``record`` of an earlier call), the recurrent sources r(t-1) and the cell
    states the peepholes read are taken from it instead of from this run: the forward whose exact
    derivative is the paper's truncated gradient. Returns ``(y, stateT, record)``.
    """
    o = cell.options
    sl = cell.unit_slices()
    H, C, S = cell.hidden_size, cell.n_blocks, cell.block_size
    T, B, _ = x.shape
    g, h = act.get(o["g"]), act.get(o["h"])

    def block_sum(a):                       # (B, H) -> (B, C): sum over the S cells of each block
        return a.reshape(B, C, S).sum(axis=2)

    def rep(a):                             # (B, C) -> (B, H): a block's gate for each of its cells
        return np.repeat(a, S, axis=1)

    def p(name):
        return params[name] if name in params else np.zeros(H)

    bias = np.zeros(cell.n_units)
    for name, unit in (("b_c", "cells"), ("b_in", "in"), ("b_f", "f"), ("b_out", "out"), ("b_hid", "hid")):
        if name in params:
            bias[sl[unit]] = params[name]
    r = np.concatenate([state0[0], state0[2], state0[3]], axis=1)
    s = state0[1].copy()
    rec = {"r": np.zeros((T, B, cell.n_units)), "sp": np.zeros((T, B, H)), "sc": np.zeros((T, B, H))}
    ys = np.zeros((T, B, cell.output_size))
    for t in range(T):
        r_in = frozen["r"][t] if frozen else r
        sp_in = frozen["sp"][t] if frozen else s
        net = x[t] @ params["W"].T + bias
        if o["recurrent"]:
            net = net + r_in @ params["R"].T
        y_in = expit(net[:, sl["in"]] + block_sum(p("p_in") * sp_in))
        y_f = expit(net[:, sl["f"]] + block_sum(p("p_f") * sp_in)) if o["forget_gate"] else np.ones((B, C))
        s_new = rep(y_f) * s + rep(y_in) * g(net[:, sl["cells"]])
        sc_in = frozen["sc"][t] if frozen else s_new
        if o["output_gate"]:
            y_out = expit(net[:, sl["out"]] + block_sum(p("p_out") * sc_in))
        else:
            y_out = np.ones((B, C))
        y_c = rep(y_out) * h(s_new)
        y_hid = expit(net[:, sl["hid"]])
        gates = [y_in] + ([y_f] if o["forget_gate"] else []) + ([y_out] if o["output_gate"] else [])
        r_new = np.concatenate([y_c, *gates, y_hid], axis=1)
        rec["r"][t], rec["sp"][t], rec["sc"][t] = r, s, s_new
        m = mask[t][:, None]
        ys[t] = np.concatenate([y_c, y_hid], axis=1) * m
        r = np.where(m, r_new, r)
        s = np.where(m, s_new, s)
    stateT = (r[:, :H], s, r[:, H:sl["hid"].start], r[:, sl["hid"]])
    return ys, stateT, rec


# ---------------------------------------------------------------------------- problem generator
FLAGS = ("output_gate", "forget_gate", "peepholes", "recurrent",
         "bias_cell", "bias_in", "bias_forget", "bias_out", "bias_hidden")


def build_problem(opts, rng, init_seed):
    """A cell with ``opts`` and random data: x, mask (prefix lengths or holes), state0, dy, dstate."""
    I, T, B = int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
    H = opts.pop("hidden_size", 2 * opts["block_size"])                 # default: 2 blocks
    cell, p = make(I, H, seed=init_seed, init_range=0.8, **opts)
    x = rng.normal(size=(T, B, I))
    if rng.random() < 0.7:
        lengths = rng.integers(0, T + 1, size=B)
        lengths[0] = T
        mask = np.arange(T)[:, None] < lengths[None, :]
    else:
        mask = rng.random((T, B)) < 0.7              # holes anywhere, not only at the end
    sizes = cell.state_sizes()
    state0 = tuple(rng.uniform(-0.9, 0.9, size=(B, sizes[k])) for k in cell.state_names)
    dy = rng.normal(size=(T, B, cell.output_size))
    dstate = tuple(rng.normal(size=(B, sizes[k])) for k in cell.state_names)
    return cell, p, x, mask, state0, dy, dstate


def random_problem(seed):
    rng = np.random.default_rng(seed)
    S, C = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    opts = {k: bool(rng.random() < 0.6) for k in FLAGS}
    opts.update(block_size=S, hidden_size=C * S, hidden_units=int(rng.integers(0, 3)),
                g=str(rng.choice(["g2", "logistic", "tanh", "identity"])),
                h=str(rng.choice(["h1", "identity", "tanh"])))
    return build_problem(opts, rng, init_seed=seed)


def objective(y, stateT, dy, dstate):
    return float(np.sum(y * dy) + sum(np.sum(a * d) for a, d in zip(stateT, dstate)))


def fd_check(f, arrays, analytic):
    """Central differences of f() over every entry of each array (perturbed in place)."""
    for arr, ana in zip(arrays, analytic):
        if arr.size:
            num = numerical_gradient(f, arr, EPS)
            assert rel_err(num, ana) <= TOL, (rel_err(num, ana), num, ana)



# ---------------------------------------------------------------------------- weight counts
@pytest.mark.parametrize(
    "I, H, opts, expected",
    [
        # Exp 4/5: 2 blocks of 2, every non-input unit biased: 8 units x (2 + 8) + 8 = 88 (+5 readout = 93)
        (2, 4, dict(block_size=2), 88),
        # Exp 1: 4 blocks of 1, gates-only bias: cells 4*19 + gates 8*20 = 236 (+28 readout = 264)
        (7, 4, dict(bias_cell=False), 236),
        # Exp 1: 3 blocks of 2, gates-only bias: cells 6*19 + gates 6*20 = 234 (+42 readout = 276)
        (7, 6, dict(block_size=2, bias_cell=False), 234),
        # Exp 2c, p=50: I=54, 2 blocks of 1, no biases: 6*(54+6) = 360 (+4 readout = 364)
        (54, 2, dict(bias_cell=False, bias_in=False, bias_out=False), 360),
        # Exp 3: I=1, 3 blocks of 1, all hidden units biased: 9 * 11 = 99 (+3 readout = 102)
        (1, 3, {}, 99),
        # Exp 6a: I=8, 2 blocks of 2, all biased: 8*(8+8) + 8 = 136 (+20 readout = 156)
        (8, 4, dict(block_size=2), 136),
        # Exp 6b: I=8, 3 blocks of 2, all biased: 12*21 = 252 (+56 readout = 308)
        (8, 6, dict(block_size=2), 252),
        # Exp 2a, p=100: connectivity B, no output gate, no biases: cell + input gate x 101 = 202
        (101, 1, dict(output_gate=False, recurrent=False, bias_cell=False, bias_in=False), 202),
    ],
)
def test_weight_counts_match_the_paper(I, H, opts, expected):
    cell = LSTM1997Cell(I, H, **opts)
    assert ParamSet(cell.param_shapes()).size == expected


def test_optional_parameters_and_sizes():
    cell = LSTM1997Cell(3, 6, block_size=3, forget_gate=True, peepholes=True, hidden_units=2)
    shapes = cell.param_shapes()
    N = 6 + 3 * 2 + 2
    assert shapes == {"W": (N, 3), "R": (N, N), "b_c": (6,), "b_in": (2,), "b_f": (2,), "b_out": (2,),
                      "b_hid": (2,), "p_in": (6,), "p_f": (6,), "p_out": (6,)}
    assert cell.output_size == 8
    assert cell.state_sizes() == {"h": 6, "c": 6, "gates": 6, "hid": 2}
    assert cell.unit_slices() == {"cells": slice(0, 6), "in": slice(6, 8), "f": slice(8, 10),
                                  "out": slice(10, 12), "hid": slice(12, 14)}


def test_gate_bias_options_set_per_block_values():
    cell, p = make(7, 4, init_range=0.2, bias_cell=False, out_gate_bias=[-1, -2, -3, -4], in_gate_bias=-0.5)
    np.testing.assert_array_equal(p["b_out"], [-1, -2, -3, -4])
    np.testing.assert_array_equal(p["b_in"], [-0.5] * 4)
    assert np.all(np.abs(p["W"]) <= 0.2) and np.std(p["W"]) > 0.05


# ---------------------------------------------------------------------------- forward semantics
@pytest.mark.parametrize("seed", range(6))
def test_kernel_forward_matches_numpy_reference(seed):
    cell, p, x, mask, state0, _, _ = random_problem(seed)
    y, stateT, _ = cell.forward(p.params, x, state0, mask)
    y_ref, stateT_ref, _ = np_forward(cell, p.params, x, state0, mask)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(stateT, stateT_ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_exp2a_form_by_hand():
    # One cell, one input gate, connectivity B, no output gate, g logistic, h identity:
    # y_c(t) = s(t) = sum_{t' <= t} sigma(w_in . x(t')) sigma(w_c . x(t')).
    cell, p = make(3, 1, seed=1, output_gate=False, recurrent=False, bias_cell=False, bias_in=False,
                   g="logistic", h="identity", init_range=0.2)
    x = np.random.default_rng(2).normal(size=(6, 1, 3))
    y, stateT, _ = cell.forward(p.params, x, cell.zero_state(1))
    inc = expit(x[:, 0] @ p["W"][1]) * expit(x[:, 0] @ p["W"][0])
    np.testing.assert_allclose(y[:, 0, 0], np.cumsum(inc), rtol=1e-13)
    np.testing.assert_allclose(stateT[1][0, 0], inc.sum(), rtol=1e-13)


def test_closed_input_gate_keeps_the_cell_state_constant():
    # The CEC: with the input gate shut and no forget gate, s(t) = s(t-1) exactly.
    cell, p = make(2, 4, block_size=2, in_gate_bias=[-800.0, -800.0], init_range=0.5)
    state0 = cell.zero_state(2)
    state0[1][...] = np.random.default_rng(3).normal(size=(2, 4))
    x = np.random.default_rng(4).normal(size=(7, 2, 2))
    _, _, cache = cell.forward(p.params, x, state0)
    s = cell.internals(cache)["s"]
    np.testing.assert_array_equal(s, np.broadcast_to(state0[1], s.shape))


def test_masked_steps_keep_state_and_output_zero():
    cell, p = make(2, 4, seed=5, block_size=2, forget_gate=True, peepholes=True, hidden_units=1, init_range=0.5)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(5, 2, 2))
    mask = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [1, 0]], dtype=bool)
    y, stateT, _ = cell.forward(p.params, x, cell.zero_state(2), mask)
    y_short, state_short, _ = cell.forward(p.params, x[:2, 1:], cell.zero_state(1))
    np.testing.assert_array_equal(y[2:, 1], 0.0)
    np.testing.assert_allclose(y[:2, 1], y_short[:, 0], rtol=1e-14)
    for a, b in zip(stateT, state_short):
        np.testing.assert_allclose(a[1], b[0], rtol=1e-14)


def test_internals_shapes():
    cell, p = make(2, 6, block_size=3, forget_gate=True, hidden_units=2)
    _, _, cache = cell.forward(p.params, np.ones((4, 3, 2)), cell.zero_state(3))
    shapes = {k: v.shape for k, v in cell.internals(cache).items()}
    assert shapes == {"in": (4, 3, 2), "f": (4, 3, 2), "out": (4, 3, 2), "s": (4, 3, 6),
                      "y_c": (4, 3, 6), "net_c": (4, 3, 6), "hid": (4, 3, 2)}
    cell2, p2 = make(2, 2, output_gate=False)
    _, _, cache2 = cell2.forward(p2.params, np.ones((4, 1, 2)), cell2.zero_state(1))
    assert set(cell2.internals(cache2)) == {"in", "s", "y_c", "net_c"}


def test_float32_matches_float64():
    cell, p, x, mask, state0, dy, dstate = random_problem(11)
    y64, _, cache64 = cell.forward(p.params, x, state0, mask)
    g64 = {k: np.zeros_like(v) for k, v in p.params.items()}
    dx64, _ = cell.backward(p.params, cache64, dy, dstate, g64)
    p32 = {k: v.astype(np.float32) for k, v in p.params.items()}
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    y32, _, cache32 = cell.forward(p32, f32(x), tuple(map(f32, state0)), mask)
    g32 = {k: np.zeros_like(v) for k, v in p32.items()}
    dx32, _ = cell.backward(p32, cache32, f32(dy), tuple(map(f32, dstate)), g32)
    assert y32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-5)
    np.testing.assert_allclose(dx32, dx64, atol=1e-4)
    for k in g64:
        np.testing.assert_allclose(g32[k], g64[k], atol=1e-4 * max(1.0, np.abs(g64[k]).max()))


# ---------------------------------------------------------------------------- gradients
def analytic(cell, p, x, mask, state0, dy, dstate, truncated):
    _, _, cache = cell.forward(p.params, x, state0, mask)
    p.zero_grad()
    dx, dstate0 = cell.backward(p.params, cache, dy, dstate, p.grads, truncated=truncated)
    return p.grad_flat.copy(), dx, dstate0


# Configurations every run covers, besides the random ones.
FIXED = [
    dict(block_size=2, forget_gate=True, peepholes=True, hidden_units=2),          # everything on
    dict(block_size=3, output_gate=False, peepholes=True, g="logistic", h="identity"),
    dict(block_size=1, recurrent=False, hidden_units=1, bias_cell=False, bias_hidden=False),
    dict(block_size=2, output_gate=False, recurrent=False, bias_cell=False, bias_in=False,
         g="logistic", h="identity"),                                              # Exp 2a form
    dict(block_size=1, forget_gate=True, peepholes=True, bias_forget=False, bias_out=False),
]


def get_problem(kind, k):
    if kind == "fixed":
        return build_problem(dict(FIXED[k]), np.random.default_rng(100 + k), init_seed=k)
    return random_problem(k)


PROBLEMS = [("fixed", k) for k in range(len(FIXED))] + [("random", s) for s in range(14)]


@pytest.mark.parametrize("kind, k", PROBLEMS)
def test_exact_gradient_matches_finite_differences(kind, k):
    cell, p, x, mask, state0, dy, dstate = get_problem(kind, k)
    g, dx, dstate0 = analytic(cell, p, x, mask, state0, dy, dstate, truncated=False)

    def f():
        y, stateT, _ = cell.forward(p.params, x, state0, mask)
        return objective(y, stateT, dy, dstate)

    fd_check(f, [p.flat, x, *state0], [g, dx, *dstate0])


@pytest.mark.parametrize("kind, k", PROBLEMS)
def test_truncated_gradient_matches_stop_gradient_forward(kind, k):
    cell, p, x, mask, state0, dy, dstate = get_problem(kind, k)
    g, dx, dstate0 = analytic(cell, p, x, mask, state0, dy, dstate, truncated=True)
    _, _, record = np_forward(cell, p.params, x, state0, mask)

    def f():
        y, stateT, _ = np_forward(cell, p.params, x, state0, mask, frozen=record)
        return objective(y, stateT, dy, dstate)

    fd_check(f, [p.flat, x, *state0], [g, dx, *dstate0])


def test_truncated_differs_from_exact_on_a_recurrent_net():
    cell, p = make(2, 4, seed=7, block_size=2, forget_gate=True, peepholes=True, init_range=1.0)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 2, 2))
    dy = rng.normal(size=(6, 2, 4))
    state0 = cell.zero_state(2)
    g_exact, dx_exact, _ = analytic(cell, p, x, None, state0, dy, None, truncated=False)
    g_trunc, dx_trunc, _ = analytic(cell, p, x, None, state0, dy, None, truncated=True)
    assert rel_err(g_exact, g_trunc) > 1e-2
    assert rel_err(dx_exact, dx_trunc) > 1e-2
    # Without peepholes, the last step's error to its own inputs is the same under both: the only
    # difference is what is sent to earlier steps. (With peepholes, exact also sends the output gate's
    # error into s(T) through p_out, which truncation cuts.)
    cell, p = make(2, 4, seed=7, block_size=2, forget_gate=True, init_range=1.0)
    dy_last = np.zeros_like(dy)
    dy_last[-1] = dy[-1]
    _, dx_e, _ = analytic(cell, p, x, None, state0, dy_last, None, truncated=False)
    _, dx_t, _ = analytic(cell, p, x, None, state0, dy_last, None, truncated=True)
    np.testing.assert_allclose(dx_e[-1], dx_t[-1], rtol=1e-12)
    assert np.abs(dx_e[:-1] - dx_t[:-1]).max() > 1e-3


def test_backward_accumulates_into_grads():
    cell, p, x, mask, state0, dy, dstate = random_problem(3)
    g, _, _ = analytic(cell, p, x, mask, state0, dy, dstate, truncated=False)
    _, _, cache = cell.forward(p.params, x, state0, mask)
    p.grad_flat[...] = 1.0
    cell.backward(p.params, cache, dy, dstate, p.grads)
    np.testing.assert_allclose(p.grad_flat, g + 1.0, rtol=1e-14)


# ---------------------------------------------------------------------------- option validation
def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="unknown option"):
        LSTM1997Cell(2, 2, forget=True)


@pytest.mark.parametrize(
    "H, opts, match",
    [
        (5, dict(block_size=2), "multiple of block_size"),
        (4, dict(block_size=0), "block_size"),
        (4, dict(block_size=2, in_gate_bias=[-1, -2, -3]), "one number per block"),
        (3, dict(out_gate_bias=[-1, -2]), "one number per block"),
        (2, dict(forget_gate=True, forget_gate_bias=[1.0, 2.0, 3.0]), "one number per block"),
        (2, dict(forget_gate_bias=1.0), "does not exist"),
        (2, dict(output_gate=False, out_gate_bias=-1.0), "does not exist"),
        (2, dict(bias_in=False, in_gate_bias=-1.0), "does not exist"),
        (2, dict(hidden_units=-1), "hidden_units"),
        (2, dict(init_range=0.0), "init_range"),
        (2, dict(g="cubic"), "unknown name"),
    ],
)
def test_invalid_option_values_are_value_errors(H, opts, match):
    with pytest.raises(ValueError, match=match):
        LSTM1997Cell(2, H, **opts)


def test_flag_options_must_be_bools():
    with pytest.raises(TypeError, match="forget_gate"):
        LSTM1997Cell(2, 2, forget_gate="yes")
