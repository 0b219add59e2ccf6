"""LSTMCell: gradients by finite differences, a pure-NumPy re-implementation, PyTorch as oracle, options."""
from __future__ import annotations

import numpy as np
import pytest

from lstmkit import activations as act
from lstmkit.cells import lstm_fast
from lstmkit.cells.lstm import VARIANTS, LSTMCell
from lstmkit.gradcheck import numerical_gradient, relative_error as rel_err
from lstmkit.params import ParamSet

CONFIGS = {
    "default": {},
    **{v: {"variant": v} for v in VARIANTS},
    "peepholes+forget_bias": {"peepholes": True, "forget_bias": 1.0},
    "identity_activations": {"cell_input_activation": "identity", "cell_output_activation": "identity"},
    "h1_gates_g2_input": {"gate_activation": "h1", "cell_input_activation": "g2", "peepholes": True},
    "CIFG+FGR": {"variant": "CIFG", "full_gate_recurrence": True},
    "FGR_only_forget_gate": {"variant": "FGR", "input_gate": False, "output_gate": False},
    "NOG+FGR+CIFG_no_peep": {"coupled": True, "output_gate": False, "full_gate_recurrence": True},
}
TRUNCATED_CONFIGS = ["default", "vanilla", "NIG", "NOG", "CIFG", "FGR", "NOAF", "CIFG+FGR", "peepholes+forget_bias"]


# ---------------------------------------------------------------------- helpers
def make(I=3, H=4, seed=0, dtype="float64", **opts):
    opts.setdefault("kernel", "reference")  # this file tests this file's kernels, whatever lstm_fast supports
    opts.setdefault("init_range", 0.8)      # larger than 1/sqrt(H): every term of the gradient matters
    cell = LSTMCell(I, H, dtype=dtype, **opts)
    ps = ParamSet(cell.param_shapes(), dtype=dtype)
    cell.init_params(ps.params, np.random.default_rng(seed))
    return cell, ps


def lengths_mask(lengths, T):
    return np.arange(T)[:, None] < np.asarray(lengths)[None, :]  # (T, B)


def problem(cell, rng, T=5, lengths=(5, 3, 1, 0), dtype="float64"):
    """x, state0, mask, dy, dstate with nonzero initial state and nonzero final-state errors."""
    B = len(lengths)
    x = rng.normal(size=(T, B, cell.input_size)).astype(dtype)
    sizes = cell.state_sizes()
    state0 = tuple(rng.uniform(-0.8, 0.8, size=(B, sizes[k])).astype(dtype) for k in cell.state_names)
    mask = lengths_mask(lengths, T)
    dy = rng.normal(size=(T, B, cell.hidden_size)).astype(dtype)
    dstate = tuple(rng.normal(size=(B, sizes[k])).astype(dtype) for k in cell.state_names)
    return x, state0, mask, dy, dstate


def objective(y, stateT, dy, dstate):
    return float(np.sum(y * dy) + sum(np.sum(s * d) for s, d in zip(stateT, dstate)))


def analytic(cell, ps, x, state0, mask, dy, dstate, truncated=False):
    _, _, cache = cell.forward(ps.params, x, state0, mask)
    ps.zero_grad()
    dx, dstate0 = cell.backward(ps.params, cache, dy, dstate, ps.grads, truncated=truncated)
    return ps.grad_flat.copy(), dx, dstate0


def check_fd(loss, ps, x, state0, grads, dx, dstate0, tol=1e-6):
    errs = {"weights": rel_err(numerical_gradient(loss, ps.flat), grads), "x": rel_err(numerical_gradient(loss, x), dx)}
    for k, (s, d) in enumerate(zip(state0, dstate0)):
        errs[f"state0[{k}]"] = rel_err(numerical_gradient(loss, s), d)
    assert max(errs.values()) <= tol, errs


# ---------------------------------------------------------------------- an independent NumPy LSTM
def np_forward(cell, params, x, state0, mask, frozen=None):
    """The module docstring's equations in plain NumPy, written apart from the kernels.

    ``frozen=(hs, cs, gs)`` (each (T+1, B, .)) replaces h(t-1), a(t-1) and the c values seen through the
    peepholes by these constants: its exact gradient is the truncated gradient.
    """
    o_ = cell.options
    H, T = cell.hidden_size, x.shape[0]
    sig, g_in, g_out = (act.get(o_[k]) for k in ("gate_activation", "cell_input_activation", "cell_output_activation"))
    has = {"i": o_["input_gate"], "f": o_["forget_gate"] and not o_["coupled"], "z": True, "o": o_["output_gate"]}
    blocks = [k for k in "ifzo" if has[k]]
    gates = [k for k in blocks if k != "z"]
    W = {k: params["W"][n * H : (n + 1) * H] for n, k in enumerate(blocks)}
    R = {k: params["R"][n * H : (n + 1) * H] for n, k in enumerate(blocks)}
    b = {k: params["b"][n * H : (n + 1) * H] for n, k in enumerate(blocks)}
    p = {k: (params["p"][n] if o_["peepholes"] else 0.0) for n, k in enumerate(gates)}
    fgr = o_["full_gate_recurrence"]
    F = {k: params["F"][n * H : (n + 1) * H] for n, k in enumerate(gates)} if fgr else {}
    h, c = state0[0].copy(), state0[1].copy()
    a = state0[2].copy() if fgr else None
    hs, cs, gs, ys = [h], [c], [a], []
    inner = {k: [] for k in "ifzoch"}
    for t in range(T):
        if frozen is None:
            h_in, a_in, c_in, c_in_o = h, a, c, None
        else:
            h_in, a_in, c_in, c_in_o = frozen[0][t], frozen[2][t] if fgr else None, frozen[1][t], frozen[1][t + 1]

        def net(k):
            n = x[t] @ W[k].T + h_in @ R[k].T + b[k]
            return n + a_in @ F[k].T if k in F else n  # F feeds the gates only

        i = sig(net("i") + p["i"] * c_in) if has["i"] else 1.0
        f = 1.0 - i if o_["coupled"] else (sig(net("f") + p["f"] * c_in) if has["f"] else 1.0)
        z = g_in(net("z"))
        c_new = f * c + i * z
        o = sig(net("o") + p["o"] * (c_new if c_in_o is None else c_in_o)) if has["o"] else 1.0
        h_new = o * g_out(c_new)
        m = mask[t][:, None]
        h, c = np.where(m, h_new, h), np.where(m, c_new, c)
        if fgr:
            a = np.where(m, np.concatenate([{"i": i, "f": f, "o": o}[k] for k in gates], axis=1), a)
        hs.append(h), cs.append(c), gs.append(a), ys.append(np.where(m, h_new, 0.0))
        for k, v in zip("ifzoch", (i, f, z, o, c_new, h_new)):
            inner[k].append(np.where(m, v, 0.0))
    state = (h, c, a) if fgr else (h, c)
    return np.stack(ys), state, (np.stack(hs), np.stack(cs), np.stack(gs) if fgr else None), inner


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", list(CONFIGS))
def test_gradients_match_finite_differences(name):
    cell, ps = make(seed=1, **CONFIGS[name])
    x, state0, mask, dy, dstate = problem(cell, np.random.default_rng(2))

    def loss():
        y, stateT, _ = cell.forward(ps.params, x, state0, mask)
        return objective(y, stateT, dy, dstate)

    grads, dx, dstate0 = analytic(cell, ps, x, state0, mask, dy, dstate)
    check_fd(loss, ps, x, state0, grads, dx, dstate0)


def test_gradients_without_mask_and_with_holes_in_the_mask():
    """mask=None, and a mask with gaps (not a prefix): a masked step anywhere carries the state."""
    for seed, lengths_or_mask in ((3, None), (4, "holes")):
        cell, ps = make(seed=seed, variant="FGR", forget_bias=1.0)
        rng = np.random.default_rng(seed)
        x, state0, _, dy, dstate = problem(cell, rng, T=6, lengths=(6, 6, 6))
        mask = None if lengths_or_mask is None else rng.random((6, 3)) < 0.6

        def loss():
            y, stateT, _ = cell.forward(ps.params, x, state0, mask)
            return objective(y, stateT, dy, dstate)

        grads, dx, dstate0 = analytic(cell, ps, x, state0, mask, dy, dstate)
        check_fd(loss, ps, x, state0, grads, dx, dstate0)


@pytest.mark.parametrize("name", TRUNCATED_CONFIGS)
def test_truncated_gradient_is_gradient_with_stopped_recurrent_inputs(name):
    cell, ps = make(seed=5, **CONFIGS[name])
    x, state0, mask, dy, dstate = problem(cell, np.random.default_rng(6))
    _, _, frozen, _ = np_forward(cell, ps.params, x, state0, mask)

    def loss():
        y, stateT, _, _ = np_forward(cell, ps.params, x, state0, mask, frozen=frozen)
        return objective(y, stateT, dy, dstate)

    grads, dx, dstate0 = analytic(cell, ps, x, state0, mask, dy, dstate, truncated=True)
    check_fd(loss, ps, x, state0, grads, dx, dstate0)
    full, _, _ = analytic(cell, ps, x, state0, mask, dy, dstate)
    assert rel_err(full, grads) > 1e-3  # the truncation really cuts something


def test_backward_accumulates_into_grads():
    cell, ps = make(variant="FGR")
    x, state0, mask, dy, dstate = problem(cell, np.random.default_rng(7))
    _, _, cache = cell.forward(ps.params, x, state0, mask)
    cell.backward(ps.params, cache, dy, dstate, ps.grads)
    once = ps.grad_flat.copy()
    cell.backward(ps.params, cache, dy, dstate, ps.grads)
    np.testing.assert_allclose(ps.grad_flat, 2 * once, rtol=1e-12, atol=0)
    assert np.abs(once).max() > 0


# ---------------------------------------------------------------------- forward against the equations
@pytest.mark.parametrize("name", list(CONFIGS))
def test_forward_and_internals_match_numpy_equations(name):
    cell, ps = make(seed=8, **CONFIGS[name])
    x, state0, mask, _, _ = problem(cell, np.random.default_rng(9))
    y, stateT, cache = cell.forward(ps.params, x, state0, mask)
    y_ref, state_ref, _, inner_ref = np_forward(cell, ps.params, x, state0, mask)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for s, r in zip(stateT, state_ref, strict=True):
        np.testing.assert_allclose(s, r, rtol=1e-12, atol=1e-12)
    inner = cell.internals(cache)
    o_ = cell.options
    expected = {"i": o_["input_gate"], "f": o_["forget_gate"], "z": True, "o": o_["output_gate"], "c": True, "h": True}
    assert list(inner) == [k for k in "ifzoch" if expected[k]]
    for k, v in inner.items():
        assert v.shape == y.shape, k
        np.testing.assert_allclose(v, inner_ref[k], rtol=1e-12, atol=1e-12, err_msg=k)
    np.testing.assert_array_equal(inner["h"], y)


# ---------------------------------------------------------------------- PyTorch oracle
def _torch_lstm(cell, ps, x, state0, torch, tdtype):
    I, H = cell.input_size, cell.hidden_size
    net = torch.nn.LSTM(I, H).to(tdtype)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(ps["W"]))
        net.weight_hh_l0.copy_(torch.from_numpy(ps["R"]))
        net.bias_ih_l0.copy_(torch.from_numpy(ps["b"]))
        net.bias_hh_l0.zero_()
    tx = torch.from_numpy(x.copy()).requires_grad_()
    h0 = torch.from_numpy(state0[0][None].copy()).requires_grad_()
    c0 = torch.from_numpy(state0[1][None].copy()).requires_grad_()
    y, (hT, cT) = net(tx, (h0, c0))
    return net, tx, h0, c0, y, hT[0], cT[0]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-9), ("float32", 1e-4)])
def test_default_cell_matches_torch_lstm(dtype, tol):
    import torch
    tdtype = getattr(torch, dtype)
    cell, ps = make(I=3, H=5, seed=10, dtype=dtype, init_range=None)
    x, state0, _, dy, dstate = problem(cell, np.random.default_rng(11), T=7, lengths=(7, 7), dtype=dtype)
    y, (hT, cT), cache = cell.forward(ps.params, x, state0)
    dx, (dh0, dc0) = cell.backward(ps.params, cache, dy, dstate, ps.grads)

    net, tx, h0, c0, ty, thT, tcT = _torch_lstm(cell, ps, x, state0, torch, tdtype)
    loss = (ty * torch.from_numpy(dy)).sum() + (thT * torch.from_numpy(dstate[0])).sum() + (
        tcT * torch.from_numpy(dstate[1])).sum()
    loss.backward()

    def close(ours, theirs, what):
        theirs = theirs.detach().numpy()
        assert ours.dtype == np.dtype(dtype), what
        assert np.max(np.abs(ours - theirs)) <= tol * max(1.0, np.max(np.abs(theirs))), what

    close(y, ty, "y"), close(hT, thT, "hT"), close(cT, tcT, "cT")
    close(dx, tx.grad, "dx"), close(dh0, h0.grad[0], "dh0"), close(dc0, c0.grad[0], "dc0")
    close(ps.grads["W"], net.weight_ih_l0.grad, "dW")
    close(ps.grads["R"], net.weight_hh_l0.grad, "dR")
    close(ps.grads["b"], net.bias_ih_l0.grad, "db")


def test_masked_batch_matches_torch_on_each_sequence_alone():
    import torch
    cell, ps = make(I=2, H=3, seed=12, init_range=None)
    lengths = (6, 4, 1)
    x, state0, mask, _, _ = problem(cell, np.random.default_rng(13), T=6, lengths=lengths)
    y, (hT, cT), _ = cell.forward(ps.params, x, state0, mask)
    for b, n in enumerate(lengths):
        one = (state0[0][b : b + 1], state0[1][b : b + 1])
        _, _, _, _, ty, thT, tcT = _torch_lstm(cell, ps, x[:n, b : b + 1], one, torch, torch.float64)
        np.testing.assert_allclose(y[:n, b], ty.detach().numpy()[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(y[n:, b], 0.0)
        np.testing.assert_allclose(hT[b], thT.detach().numpy()[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(cT[b], tcT.detach().numpy()[0], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- parameters and options
@pytest.mark.parametrize("opts,shapes", [
    ({}, {"W": (16, 3), "R": (16, 4), "b": (16,)}),
    ({"variant": "vanilla"}, {"W": (16, 3), "R": (16, 4), "b": (16,), "p": (3, 4)}),
    ({"variant": "NIG"}, {"W": (12, 3), "R": (12, 4), "b": (12,), "p": (2, 4)}),
    ({"variant": "NFG"}, {"W": (12, 3), "R": (12, 4), "b": (12,), "p": (2, 4)}),
    ({"variant": "NOG"}, {"W": (12, 3), "R": (12, 4), "b": (12,), "p": (2, 4)}),
    ({"variant": "CIFG"}, {"W": (12, 3), "R": (12, 4), "b": (12,), "p": (2, 4)}),
    ({"variant": "NP"}, {"W": (16, 3), "R": (16, 4), "b": (16,)}),
    ({"variant": "NIAF"}, {"W": (16, 3), "R": (16, 4), "b": (16,), "p": (3, 4)}),
    ({"variant": "FGR"}, {"W": (16, 3), "R": (16, 4), "b": (16,), "p": (3, 4), "F": (12, 12)}),
    ({"variant": "CIFG", "full_gate_recurrence": True, "peepholes": False},
     {"W": (12, 3), "R": (12, 4), "b": (12,), "F": (8, 8)}),
])
def test_variants_store_only_the_blocks_they_compute(opts, shapes):
    cell = LSTMCell(3, 4, **opts)
    assert cell.param_shapes() == shapes
    fgr = "F" in shapes
    assert cell.state_names == (("h", "c", "gates") if fgr else ("h", "c"))
    if fgr:
        assert cell.state_sizes()["gates"] == shapes["F"][0]


def test_variant_resolution_and_explicit_override():
    assert LSTMCell(2, 3, variant="vanilla").options["peepholes"] is True
    assert LSTMCell(2, 3, variant="NIAF").options["cell_input_activation"] == "identity"
    over = LSTMCell(2, 3, variant="NP", peepholes=True)             # explicit wins
    assert over.options["peepholes"] is True and "p" in over.param_shapes()
    assert LSTMCell(2, 3, variant="cifg").options["variant"] == "CIFG"  # case-insensitive, stored canonical
    assert LSTMCell(2, 3, variant="NOAF", cell_output_activation="tanh").options["cell_output_activation"] == "tanh"


def test_initialisation_ranges_and_forget_bias():
    H = 16
    cell, ps = make(I=5, H=H, init_range=None, seed=3)
    assert np.abs(ps.flat).max() <= 1 / np.sqrt(H) and np.abs(ps.flat).max() > 0.5 / np.sqrt(H)
    cell, ps = make(I=5, H=H, init_range=0.1, variant="vanilla", forget_bias=2.0)
    b_f = ps["b"][H : 2 * H]
    assert np.all((b_f >= 1.9) & (b_f <= 2.1))
    assert np.abs(np.delete(ps["b"], np.s_[H : 2 * H])).max() <= 0.1
    # CIFG: f = 1 - sigma(net_i) = sigma(-net_i), so the forget bias lands on the input gate as -2.
    cell, ps = make(I=5, H=H, init_range=0.1, variant="CIFG", forget_bias=2.0)
    assert np.all((ps["b"][:H] >= -2.1) & (ps["b"][:H] <= -1.9))
    assert np.abs(ps["b"][H:]).max() <= 0.1


def test_unknown_option_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="forget_gates"):
        LSTMCell(2, 3, forget_gates=False)


@pytest.mark.parametrize("opts,match", [
    ({"forget_gate": "yes"}, "forget_gate"),
    ({"peepholes": 1}, "peepholes"),
    ({"gate_activation": "relu"}, "gate_activation"),
    ({"cell_output_activation": 3}, "cell_output_activation"),
    ({"init_range": -0.1}, "init_range"),
    ({"forget_bias": float("nan")}, "forget_bias"),
    ({"kernel": "gpu"}, "kernel"),
    ({"variant": "LSTM2000"}, "variant"),
    ({"coupled": True, "input_gate": False}, "coupled"),
    ({"variant": "CIFG", "forget_gate": False}, "coupled"),
    ({"variant": "NIG", "coupled": True}, "coupled"),
    ({"forget_gate": False, "forget_bias": 1.0}, "forget_bias"),
    ({"variant": "NFG", "forget_bias": 1.0}, "forget_bias"),
    ({"input_gate": False, "forget_gate": False, "output_gate": False, "peepholes": True}, "peepholes"),
])
def test_bad_values_are_value_errors(opts, match):
    with pytest.raises(ValueError, match=match):
        LSTMCell(2, 3, **opts)


def test_state_shape_mismatch_is_reported():
    cell, ps = make(variant="FGR")
    x = np.zeros((4, 2, 3))
    with pytest.raises(ValueError, match="3 arrays"):
        cell.forward(ps.params, x, (np.zeros((2, 4)), np.zeros((2, 4))))
    with pytest.raises(ValueError, match="'c'"):
        cell.forward(ps.params, x, (np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((2, 12))))
    _, _, cache = cell.forward(ps.params, x, None)
    with pytest.raises(ValueError, match="'gates'"):
        cell.backward(ps.params, cache, np.zeros((4, 2, 4)), (None, None, np.zeros((2, 4))), ps.grads)


# ---------------------------------------------------------------------- kernel dispatch
class _FakeFast:
    """Stands in for lstm_fast: records calls, returns tagged objects."""

    def __init__(self):
        self.calls = []

    def supports(self, cell):
        return True

    def forward(self, cell, params, x, state0, mask):
        self.calls.append("forward")
        T, B, _ = x.shape
        return np.zeros((T, B, cell.hidden_size)), state0, "fast-cache"

    def backward(self, cell, params, cache, dy, dstate, grads, truncated):
        self.calls.append(("backward", cache, truncated))
        return np.zeros(1), ()

    def internals(self, cell, cache):
        self.calls.append(("internals", cache))
        return {}


def test_kernel_dispatch_follows_the_cache_tag(monkeypatch):
    fake = _FakeFast()
    for fn in ("supports", "forward", "backward", "internals"):
        monkeypatch.setattr(lstm_fast, fn, getattr(fake, fn), raising=False)
    cell, ps = make(kernel="auto")
    x, state0, mask, dy, dstate = problem(cell, np.random.default_rng(14))

    _, _, cache = cell.forward(ps.params, x, state0, mask)
    cell.backward(ps.params, cache, dy, dstate, ps.grads, truncated=True)
    cell.internals(cache)
    assert fake.calls == ["forward", ("backward", "fast-cache", True), ("internals", "fast-cache")]

    fake.calls.clear()                                   # asking for internals keeps "auto" on the reference
    y, _, cache = cell.forward(ps.params, x, state0, mask, need_internals=True)
    cell.backward(ps.params, cache, dy, dstate, ps.grads)
    assert "h" in cell.internals(cache) and np.abs(y).max() > 0
    assert fake.calls == []

    ref, ps_ref = make(kernel="reference")
    ref.forward(ps_ref.params, x, state0, mask)
    assert fake.calls == []
    assert LSTMCell(3, 4, kernel="fast").options["kernel"] == "fast"  # supported: accepted


def test_kernel_fast_without_support_is_a_value_error(monkeypatch):
    monkeypatch.setattr(lstm_fast, "supports", lambda cell: False)
    with pytest.raises(ValueError, match="kernel='fast'"):
        LSTMCell(3, 4, kernel="fast")
    cell, ps = make(kernel="auto")                       # unsupported: "auto" quietly uses the reference
    _, _, cache = cell.forward(ps.params, np.zeros((2, 1, 3)), None)
    assert cache[0] == "reference"


@pytest.mark.parametrize("truncated", [False, True])
def test_auto_path_agrees_with_reference_when_fast_kernels_support_the_cell(truncated):
    auto, ps = make(kernel="auto", init_range=None)
    assert lstm_fast.supports(auto), "the fast kernels must serve the default cell"
    ref = LSTMCell(3, 4, kernel="reference")
    x, state0, mask, dy, dstate = problem(auto, np.random.default_rng(15))
    results = []
    for cell in (auto, ref):
        y, stateT, cache = cell.forward(ps.params, x, state0, mask)
        ps.zero_grad()
        dx, dstate0 = cell.backward(ps.params, cache, dy, dstate, ps.grads, truncated=truncated)
        results.append((cache[0], [y, *stateT, dx, *dstate0, ps.grad_flat.copy()], cell.internals(cache)))
    (tag_a, arrays_a, inner_a), (tag_r, arrays_r, inner_r) = results
    assert (tag_a, tag_r) == ("fast", "reference")
    for a, r in zip(arrays_a, arrays_r, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    assert list(inner_a) == list(inner_r)
    for k in inner_r:
        np.testing.assert_allclose(inner_a[k], inner_r[k], rtol=1e-12, atol=1e-12, err_msg=k)
