"""The fast LSTM kernels (lstmkit.cells.lstm_fast) against torch.nn.LSTM, a NumPy reference written here,
finite differences, and the readable reference kernels of lstm.py.

Every kernel strategy (explicit loops / per-step BLAS, one chunk / batch chunks on threads) runs on
small shapes that still take each branch: H not a multiple of 4 (remainder loop), B = 1, masks with
different lengths (including empty and full sequences), nonzero initial state and final-state errors.
"""
from __future__ import annotations

import numpy as np
import pytest

from lstmkit.cells import lstm_fast
from lstmkit.cells.lstm import LSTMCell
from lstmkit.gradcheck import numerical_gradient, relative_error
from lstmkit.params import ParamSet

STRATEGIES = ["loops", "tiles", "loops-parallel", "tiles-parallel", None]
TOL = {np.float64: 1e-9, np.float32: 1e-4}   # torch oracle tolerances (max abs difference)


# ------------------------------------------------------------------------------- helpers
def make(I, H, dtype, seed, **opts):
    cell = LSTMCell(I, H, dtype=dtype, **opts)
    ps = ParamSet(cell.param_shapes(), dtype=dtype)
    cell.init_params(ps.params, np.random.default_rng(seed))
    return cell, ps


def problem(T, B, I, H, dtype, seed, masked=False):
    """Inputs, initial state, output/final-state errors and a mask (prefix lengths 0..T) for one case."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, I)).astype(dtype)
    h0, c0 = (rng.normal(size=(B, H)).astype(dtype) for _ in range(2))
    dy = rng.normal(size=(T, B, H)).astype(dtype)
    dhT, dcT = (rng.normal(size=(B, H)).astype(dtype) for _ in range(2))
    if masked:
        lengths = rng.integers(0, T + 1, size=B)
        lengths[0] = T                               # one full sequence; others may be empty
        mask = np.arange(T)[:, None] < lengths[None, :]
    else:
        mask = None
    return x, (h0, c0), mask, dy, (dhT, dcT)


def run_fast(cell, params, x, state0, mask, dy, dstate, strategy, truncated=False, grads=None):
    y, stateT, cache = lstm_fast.forward(cell, params, x, state0, mask, strategy=strategy)
    grads = {k: np.zeros_like(v) for k, v in params.items()} if grads is None else grads
    dx, dstate0 = lstm_fast.backward(cell, params, cache, dy, dstate, grads, truncated=truncated)
    return y, stateT, dx, dstate0, grads, cache


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_lstm(params, x, state0, mask, dy, dstate, truncated):
    """Plain NumPy forward and backward of the standard LSTM with masks and the truncated gradient."""
    W, R, b = params["W"], params["R"], params["b"]
    T, B, _ = x.shape
    H = R.shape[1]
    m = np.ones((T, B), bool) if mask is None else mask
    h, c = state0[0].astype(np.float64), state0[1].astype(np.float64)
    hs, cs, acts, ys = [h], [c], [], []
    for t in range(T):
        a = x[t] @ W.T + h @ R.T + b
        i, f, z, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        cn = f * c + i * z
        hn = o * np.tanh(cn)
        keep = m[t][:, None]
        h, c = np.where(keep, hn, h), np.where(keep, cn, c)
        hs.append(h)
        cs.append(c)
        acts.append((i, f, z, o))
        ys.append(np.where(keep, hn, 0.0))
    dh, dc = dstate[0].astype(np.float64).copy(), dstate[1].astype(np.float64).copy()
    dW, dR, db = np.zeros_like(W, np.float64), np.zeros_like(R, np.float64), np.zeros_like(b, np.float64)
    dx = np.zeros(x.shape)
    for t in range(T - 1, -1, -1):
        i, f, z, o = acts[t]
        keep = m[t][:, None]
        s = np.tanh(f * cs[t] + i * z)
        d_h = dy[t] + dh
        d_c = dc + d_h * o * (1 - s * s)
        da = np.concatenate([d_c * z * i * (1 - i), d_c * cs[t] * f * (1 - f), d_c * i * (1 - z * z),
                             d_h * s * o * (1 - o)], axis=1) * keep
        dW += da.T @ x[t]
        dR += da.T @ hs[t]
        db += da.sum(0)
        dx[t] = da @ W
        dc = np.where(keep, d_c * f, dc)
        dh = np.where(keep, 0.0 if truncated else da @ R, dh)
    return np.stack(ys), (h, c), dx, (dh, dc), {"W": dW, "R": dR, "b": db}


def assert_all_close(got, want, atol, what=""):
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=atol, err_msg=f"{what}: {k}")


def results(y, stateT, dx, dstate0, grads):
    return {"y": y, "hT": stateT[0], "cT": stateT[1], "dx": dx, "dh0": dstate0[0], "dc0": dstate0[1],
            **{"d" + k: v for k, v in grads.items()}}


# ------------------------------------------------------------------------------- exp, sigmoid, tanh
def _grid(dtype):
    wide = np.linspace(-120.0, 120.0, 600_001)
    near0 = np.linspace(-1e-3, 1e-3, 20_001)
    tiny = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-38, 3e-8, -3e-8, 1e-5, 0.5, -0.5])
    return np.concatenate([wide, near0, tiny]).astype(dtype)


@pytest.mark.parametrize("dtype,rel", [(np.float32, 2e-7), (np.float64, 1e-15)])
def test_exp_sigmoid_tanh_accuracy(dtype, rel):
    """Relative error over a dense grid with tails and tiny arguments (computed in float64 for float32)."""
    from scipy.special import expit

    x = _grid(dtype)
    xd = x.astype(np.float64)
    lo, hi = (-87.0, 88.0) if dtype == np.float32 else (-708.0, 709.0)
    inside = (xd >= lo) & (xd <= hi)
    e = lstm_fast.apply("exp", x).astype(np.float64)
    s = lstm_fast.apply("sigmoid", x).astype(np.float64)
    t = lstm_fast.apply("tanh", x).astype(np.float64)
    assert np.max(np.abs(e[inside] / np.exp(xd[inside]) - 1)) <= rel
    assert np.max(np.abs(s[xd >= lo] / expit(xd[xd >= lo]) - 1)) <= rel
    assert np.max(np.abs(s - expit(xd))) <= rel            # absolute, everywhere (saturated tails too)
    nz = xd != 0
    assert np.max(np.abs(t[nz] / np.tanh(xd[nz]) - 1)) <= rel
    assert np.all(t[~nz] == 0)
    # Saturation is exact where it should be.
    assert lstm_fast.apply("sigmoid", np.array([200.0], dtype))[0] == 1
    assert lstm_fast.apply("tanh", np.array([-50.0, 50.0], dtype)).tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_specials_propagate(dtype):
    x = np.array([np.nan, np.inf, -np.inf], dtype)
    s, t = lstm_fast.apply("sigmoid", x), lstm_fast.apply("tanh", x)
    assert np.isnan(s[0]) and np.isnan(t[0])          # a NaN is not hidden by the clamping
    assert s[1] == 1 and s[2] < 1e-37 and t[1] == 1 and t[2] == -1


def test_apply_rejects_bad_input():
    with pytest.raises(ValueError, match="name must be one of"):
        lstm_fast.apply("cosh", np.zeros(2))
    with pytest.raises(TypeError, match="float32 or float64"):
        lstm_fast.apply("exp", np.zeros(2, np.int64))


# ------------------------------------------------------------------------------- tile matrix product
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (7, 3, 5), (13, 300, 70), (40, 9, 120), (6, 513, 16), (50, 20, 256),
                                   (200, 30, 64), (11, 40, 32), (9, 17, 30)])
def test_tile_matmul_equals_numpy(M, K, N, dtype):
    """Wide and narrow panels, K over a K_BLOCK boundary, ragged edges, A transposed, bias, accumulate."""
    rng = np.random.default_rng(M * K + N)
    A = rng.normal(size=(M, K)).astype(dtype)
    B = rng.normal(size=(K, N)).astype(dtype)
    bias = rng.normal(size=N).astype(dtype)
    want = A.astype(np.float64) @ B.astype(np.float64)
    tol = 1e-12 * K if dtype == np.float64 else 2e-6 * K
    for packed in (lstm_fast.pack(B), lstm_fast.pack(np.ascontiguousarray(B.T), transpose=True)):
        C = np.full((M, N), np.nan, dtype)
        lstm_fast.matmul(A, packed, C, n_threads=2)
        np.testing.assert_allclose(C, want, rtol=0, atol=tol)
        lstm_fast.matmul(np.ascontiguousarray(A.T), packed, C, transpose_a=True, bias=bias)
        np.testing.assert_allclose(C, want + bias, rtol=0, atol=tol)
        lstm_fast.matmul(A, packed, C, accumulate=True, n_threads=3)
        np.testing.assert_allclose(C, 2 * want + bias, rtol=0, atol=2 * tol)
    with pytest.raises(ValueError, match="matmul: expected"):
        lstm_fast.matmul(A, lstm_fast.pack(B), np.zeros((M, N + 1), dtype))


def test_pack_chooses_narrow_panels_for_few_columns():
    wide, narrow = lstm_fast.tile_cols(np.float32), lstm_fast.tile_cols(np.float32, wide=False)
    two = lstm_fast.tile_cols(np.float32, vectors=2)
    assert narrow < two <= wide
    assert lstm_fast.pack(np.ones((3, wide), np.float32)).nr == wide
    assert lstm_fast.pack(np.ones((3, two), np.float32)).nr == two
    assert lstm_fast.pack(np.ones((3, 2), np.float32)).nr == narrow
    p = lstm_fast.pack(np.arange(6, dtype=np.float64).reshape(2, 3))
    assert p.K == 2 and p.N == 3 and p.data.size == 2 * p.nr
    np.testing.assert_array_equal(p.data.reshape(2, p.nr)[:, :3], [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(p.data.reshape(2, p.nr)[:, 3:], 0)    # zero padding


# ------------------------------------------------------------------------------- torch oracle
import torch  # noqa: E402 - the oracle; part of the test extra


def torch_lstm(params, x, state0, dy, dstate, dtype):
    """The same computation in torch.nn.LSTM (bias_hh = 0); returns the results as NumPy arrays."""
    T, B, I = x.shape
    H = params["R"].shape[1]
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    m = torch.nn.LSTM(I, H).to(tdt)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(params["W"]))
        m.weight_hh_l0.copy_(torch.from_numpy(params["R"]))
        m.bias_ih_l0.copy_(torch.from_numpy(params["b"]))
        m.bias_hh_l0.zero_()
    xt = torch.from_numpy(x).requires_grad_()
    h0, c0 = (torch.from_numpy(s)[None].clone().requires_grad_() for s in state0)
    y, (hT, cT) = m(xt, (h0, c0))
    loss = (y * torch.from_numpy(dy)).sum() + (hT[0] * torch.from_numpy(dstate[0])).sum() \
        + (cT[0] * torch.from_numpy(dstate[1])).sum()
    loss.backward()
    return {"y": y.detach().numpy(), "hT": hT[0].detach().numpy(), "cT": cT[0].detach().numpy(),
            "dx": xt.grad.numpy(), "dh0": h0.grad[0].numpy(), "dc0": c0.grad[0].numpy(),
            "dW": m.weight_ih_l0.grad.numpy(), "dR": m.weight_hh_l0.grad.numpy(),
            "db": m.bias_ih_l0.grad.numpy()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("T,B,I,H", [(6, 5, 3, 4), (5, 1, 2, 5), (4, 9, 7, 13), (3, 7, 5, 66)])
def test_equals_torch(T, B, I, H, dtype, strategy):
    cell, ps = make(I, H, dtype, seed=T * B + H)
    x, state0, _, dy, dstate = problem(T, B, I, H, dtype, seed=H)
    got = results(*run_fast(cell, ps.params, x, state0, None, dy, dstate, strategy)[:5])
    want = torch_lstm(ps.params, x, state0, dy, dstate, dtype)
    assert_all_close(got, want, TOL[dtype], f"{strategy} {dtype.__name__}")


# ------------------------------------------------------------------------------- masks, truncation
@pytest.mark.parametrize("truncated", [False, True])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_masks_and_truncation_equal_numpy_reference(strategy, truncated):
    T, B, I, H = 7, 6, 3, 5
    cell, ps = make(I, H, np.float64, seed=3)
    x, state0, mask, dy, dstate = problem(T, B, I, H, np.float64, seed=4, masked=True)
    assert not mask.all()                              # some padding present
    got = results(*run_fast(cell, ps.params, x, state0, mask, dy, dstate, strategy, truncated)[:5])
    y, stateT, dx, dstate0, grads = numpy_lstm(ps.params, x, state0, mask, dy, dstate, truncated)
    want = results(y, stateT, dx, dstate0, {k: grads[k] for k in ("W", "R", "b")})
    assert_all_close(got, want, 1e-12, f"{strategy} truncated={truncated}")
    assert np.all(got["y"][~mask] == 0)                # masked steps output zeros


def test_truncation_changes_the_gradient():
    """Guard against a truncated flag that is silently ignored (both answers must differ)."""
    cell, ps = make(3, 4, np.float64, seed=5)
    x, state0, _, dy, dstate = problem(6, 2, 3, 4, np.float64, seed=6)
    full = run_fast(cell, ps.params, x, state0, None, dy, dstate, "loops", truncated=False)
    trunc = run_fast(cell, ps.params, x, state0, None, dy, dstate, "loops", truncated=True)
    assert np.max(np.abs(full[4]["R"] - trunc[4]["R"])) > 1e-6
    np.testing.assert_array_equal(trunc[3][0], 0.0)    # nothing reaches h0 through the net inputs


def test_gradient_equals_finite_differences():
    """Central differences over every weight and the initial state (float64, masked, nonzero dstate)."""
    T, B, I, H = 5, 3, 2, 3
    cell, ps = make(I, H, np.float64, seed=7)
    x, state0, mask, dy, dstate = problem(T, B, I, H, np.float64, seed=8, masked=True)

    def loss():
        y, (hT, cT), _ = lstm_fast.forward(cell, ps.params, x, state0, mask, need_cache=False)
        return np.sum(y * dy) + np.sum(hT * dstate[0]) + np.sum(cT * dstate[1])

    _, _, dx, dstate0, grads, _ = run_fast(cell, ps.params, x, state0, mask, dy, dstate, "loops")
    ana = np.concatenate([grads[k].ravel() for k in ps.params] + [dstate0[0].ravel(), dstate0[1].ravel()])
    num = np.concatenate([numerical_gradient(loss, arr).ravel() for arr in (ps.flat, state0[0], state0[1])])
    err = relative_error(num, ana)
    assert err <= 1e-6, err


# ------------------------------------------------------------------------------- API details
@pytest.mark.parametrize("strategy", ["loops", "tiles-parallel"])
def test_inference_path_equals_training_path(strategy):
    cell, ps = make(3, 6, np.float32, seed=9)
    x, state0, mask, *_ = problem(8, 5, 3, 6, np.float32, seed=10, masked=True)
    y, (hT, cT), cache = lstm_fast.forward(cell, ps.params, x, state0, mask, strategy=strategy)
    y2, (hT2, cT2), cache2 = lstm_fast.forward(cell, ps.params, x, state0, mask, need_cache=False,
                                               strategy=strategy)
    assert cache2 is None
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(hT, hT2)
    np.testing.assert_array_equal(cT, cT2)
    with pytest.raises(ValueError, match="need_cache=True"):
        lstm_fast.backward(cell, ps.params, None, np.zeros_like(y), None, ps.grads)
    with pytest.raises(ValueError, match="need_cache=True"):
        lstm_fast.internals(cell, None)


def test_gradients_accumulate_and_inputs_are_untouched():
    cell, ps = make(3, 4, np.float64, seed=11)
    x, state0, mask, dy, dstate = problem(5, 3, 3, 4, np.float64, seed=12, masked=True)
    copies = [a.copy() for a in (x, *state0, dy, *dstate, ps.flat)]
    _, _, _, _, once, _ = run_fast(cell, ps.params, x, state0, mask, dy, dstate, "tiles")
    start = {k: np.full_like(v, 0.5) for k, v in ps.params.items()}
    _, _, _, _, twice, _ = run_fast(cell, ps.params, x, state0, mask, dy, dstate, "tiles", grads=start)
    for k in once:
        np.testing.assert_allclose(twice[k], once[k] + 0.5, rtol=0, atol=1e-15)
    for before, after in zip(copies, (x, *state0, dy, *dstate, ps.flat)):
        np.testing.assert_array_equal(before, after)


def test_state_and_dstate_default_to_zeros():
    cell, ps = make(2, 3, np.float64, seed=13)
    x = np.random.default_rng(14).normal(size=(4, 2, 2))
    zeros = (np.zeros((2, 3)), np.zeros((2, 3)))
    y, s, c = lstm_fast.forward(cell, ps.params, x, None)
    y2, s2, c2 = lstm_fast.forward(cell, ps.params, x, zeros)
    np.testing.assert_array_equal(y, y2)
    g1 = {k: np.zeros_like(v) for k, v in ps.params.items()}
    g2 = {k: np.zeros_like(v) for k, v in ps.params.items()}
    d1 = lstm_fast.backward(cell, ps.params, c, np.ones_like(y), None, g1)
    d2 = lstm_fast.backward(cell, ps.params, c2, np.ones_like(y), zeros, g2)
    np.testing.assert_array_equal(d1[0], d2[0])
    with pytest.raises(ValueError, match="dy expects shape"):
        lstm_fast.backward(cell, ps.params, c, np.ones((4, 2, 2)), None, g1)


def test_plan_chooses_and_validates():
    assert lstm_fast.plan(32, 8).use_tiles is False
    assert lstm_fast.plan(32, 512).use_tiles is True
    assert lstm_fast.plan(1, 8, n_threads=2).n_chunks == 1
    assert lstm_fast.plan(32, 32, n_threads=2).n_chunks == 2
    assert lstm_fast.plan(32, 32, "loops").n_chunks == 1
    p = lstm_fast.plan(7, 32, "tiles-parallel", n_threads=3)
    assert p.n_chunks == 3 and p.bounds[0] == 0 and p.bounds[-1] == 7 and np.all(np.diff(p.bounds) > 0)
    with pytest.raises(ValueError, match="strategy must be"):
        lstm_fast.plan(4, 4, "gpu")


def test_supports_the_standard_cell_only():
    assert lstm_fast.supports(LSTMCell(3, 4))
    assert lstm_fast.supports(LSTMCell(3, 4, dtype="float32", gate_activation="sigmoid"))
    for opts in ({"peepholes": True}, {"coupled": True}, {"full_gate_recurrence": True},
                 {"forget_gate": False}, {"input_gate": False}, {"output_gate": False},
                 {"gate_activation": "tanh"}, {"cell_input_activation": "identity"},
                 {"cell_output_activation": "h1"}, {"variant": "vanilla"}):
        assert not lstm_fast.supports(LSTMCell(3, 4, kernel="reference", **opts)), opts


# ------------------------------------------------------------------------------- fast == reference
@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("truncated", [False, True])
def test_fast_kernel_equals_reference_kernel(dtype, atol, truncated):
    """LSTMCell(kernel="fast") against LSTMCell(kernel="reference"): float64 within 1e-12; float32 within
    1e-5 absolute (values here are O(1); the two differ by rounding, exp/tanh formulas and sum order)."""
    T, B, I, H = 6, 5, 3, 6
    fast, ps = make(I, H, dtype, seed=15, kernel="fast")
    ref = LSTMCell(I, H, dtype=dtype, kernel="reference")
    x, state0, mask, dy, dstate = problem(T, B, I, H, dtype, seed=16, masked=True)
    out = {}
    for name, cell in (("fast", fast), ("reference", ref)):
        y, stateT, cache = cell.forward(ps.params, x, state0, mask)
        assert cache[0] == name
        grads = {k: np.zeros_like(v) for k, v in ps.params.items()}
        dx, dstate0 = cell.backward(ps.params, cache, dy, dstate, grads, truncated=truncated)
        out[name] = results(y, stateT, dx, dstate0, grads)
        out[name].update({"int_" + k: v for k, v in cell.internals(cache).items()})
    assert out["fast"].keys() == out["reference"].keys()
    assert_all_close(out["fast"], out["reference"], atol, f"{dtype.__name__} truncated={truncated}")
