"""The modern toolbox options of the "lstm" cell (lstm_toolbox.py): gradients by finite differences in
float64 for each option alone and all together (training and evaluation mode, masks, two layers, both
directions, initial state), an independent forward reference, what the masks do, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

from lstmkit import gradcheck
from lstmkit.cells import lstm_toolbox
from lstmkit.cells.lstm import LSTMCell
from lstmkit.network import LSTM, Network, Readout

TOL = 1e-6
ALONE = [{"proj_size": 2}, {"layer_norm": True}, {"input_dropout": 0.3}, {"recurrent_dropout": 0.3},
         {"zoneout_cell": 0.3}, {"zoneout_hidden": 0.3}, {"weight_drop": 0.3}]
ALL = {"proj_size": 3, "layer_norm": True, "peepholes": True, "input_dropout": 0.2, "recurrent_dropout": 0.2,
       "zoneout_cell": 0.2, "zoneout_hidden": 0.2, "weight_drop": 0.2}


class Reseeded:
    """A network in training mode whose every forward draws the same masks (finite differences need that)."""

    def __init__(self, net, seed):
        self.net, self.seed = net, seed

    def forward(self, x, state=None, lengths=None):
        self.net.train(rng=np.random.default_rng(self.seed))
        return self.net.forward(x, state, lengths=lengths)

    def __getattr__(self, name):
        return getattr(self.net, name)


def _check(net, training, seed=3, max_weights=None):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 3, net.input_size))
    D, L = net.num_directions, net.num_layers
    sizes = net.cells[0].state_sizes()
    state = tuple(rng.normal(size=(L * D, 3, sizes[k])) for k in net.state_names)
    module = Reseeded(net, seed) if training else net.eval()
    return gradcheck.check_module(module, x, state=state, lengths=[5, 2, 4], max_weights=max_weights)


@pytest.fixture(params=["numba", "numpy"])
def steps(request, monkeypatch):
    """Run the step loop of either implementation, whatever the size (lstm_toolbox.NUMPY_FROM)."""
    monkeypatch.setattr(lstm_toolbox, "NUMPY_FROM", 0 if request.param == "numpy" else 10**12)
    return request.param


@pytest.mark.parametrize("opts", ALONE + [ALL], ids=lambda o: "all" if len(o) > 2 else next(iter(o)))
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_gradients_match_finite_differences(opts, training, steps):
    # each option alone: every weight of one bidirectional layer; all at once: two layers, 250 sampled weights
    layers = 2 if opts is ALL else 1
    net = LSTM(3, 4, num_layers=layers, bidirectional=True, seed=0, **opts)
    errs = _check(net, training, max_weights=250 if opts is ALL else None)
    assert max(errs.values()) < TOL, errs


def test_the_two_step_loops_agree(monkeypatch):
    """The Numba kernels and the NumPy loop: the same outputs, states, gradients (float64, all options)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(7, 4, 3))
    out = {}
    for name, threshold in (("numba", 10**12), ("numpy", 0)):
        monkeypatch.setattr(lstm_toolbox, "NUMPY_FROM", threshold)
        net = LSTM(3, 6, num_layers=2, bidirectional=True, seed=0, **ALL).train(rng=np.random.default_rng(1))
        y, (h, c) = net.forward(x, lengths=[7, 3, 5, 1])
        dx, (dh0, dc0) = net.backward(np.cos(y), (np.sin(h), np.cos(c)))
        out[name] = [y, h, c, dx, dh0, dc0, net.grad_flat.copy()]
    for a, b in zip(*out.values()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(lstm_toolbox, "NUMPY_FROM", 2048)
    assert lstm_toolbox._steps(8, 255) is lstm_toolbox.STEPS["numba"]
    assert lstm_toolbox._steps(8, 256) is lstm_toolbox.STEPS["numpy"]


def test_gradients_through_a_network_with_readout():
    net = Network(LSTM(3, 5, seed=0, **ALL), Readout(3, 2, "softmax", seed=1))
    errs = _check(net.rnn, True)
    assert max(errs.values()) < TOL, errs
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    errs = gradcheck.check_module(Reseeded(net, 1), x, with_state_grad=False)
    assert max(errs.values()) < TOL, errs


def _reference(cell, params, x, h0, c0):
    """(T1)-(T11) in evaluation mode, one sequence and one unit at a time: an independent forward."""
    o = cell.options
    H, P = cell.hidden_size, cell.output_size
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731

    def ln(a, g, b=0.0):
        return (a - a.mean()) / np.sqrt(a.var() + 1e-5) * g + b

    T, B, _ = x.shape
    ys = np.zeros((T, B, P))
    for b in range(B):
        h, c = h0[b].copy(), c0[b].copy()
        for t in range(T):
            ax, ah = params["W"] @ x[t, b], params["R"] @ h
            if o["layer_norm"]:
                net = ln(ax, params["ln_gx"]) + ln(ah, params["ln_gh"]) + params["b"]
            else:
                net = ax + ah + params["b"]
            p = params["p"] if o["peepholes"] else np.zeros((3, H))
            i = sig(net[:H] + p[0] * c)
            f = sig(net[H:2 * H] + p[1] * c)
            ct = f * c + i * np.tanh(net[2 * H:3 * H])
            og = sig(net[3 * H:] + p[2] * ct)
            n = ln(ct, params["ln_gc"], params["ln_bc"]) if o["layer_norm"] else ct
            ht = og * np.tanh(n)
            if o["proj_size"]:
                ht = params["Wr"] @ ht
            zc, zh = o["zoneout_cell"], o["zoneout_hidden"]
            c = zc * c + (1 - zc) * ct                   # zoneout's expectation at evaluation
            h = zh * h + (1 - zh) * ht
            ys[t, b] = h
    return ys


@pytest.mark.parametrize("opts", [{"layer_norm": True, "proj_size": 2}, ALL])
def test_forward_matches_an_independent_reference(opts, steps):
    cell = LSTMCell(3, 4, **opts)
    rng = np.random.default_rng(0)
    params = {k: rng.normal(scale=0.5, size=s) for k, s in cell.param_shapes().items()}
    x = rng.normal(size=(6, 2, 3))
    h0, c0 = rng.normal(size=(2, cell.output_size)), rng.normal(size=(2, 4))
    y, _, _ = cell.forward(params, x, (h0, c0))
    np.testing.assert_allclose(y, _reference(cell, params, x, h0, c0), rtol=1e-12, atol=1e-12)


def test_layer_norm_and_projection_shapes_and_init():
    net = LSTM(3, 6, proj_size=2, layer_norm=True, num_layers=2, seed=0)
    p = net.params
    assert p["l0.R"].shape == (24, 2) and p["l0.Wr"].shape == (2, 6) and p["l1.W"].shape == (24, 2)
    assert np.all(p["l0.ln_gx"] == 1) and np.all(p["l0.ln_gc"] == 1) and np.all(p["l0.ln_bc"] == 0)
    y, (h, c) = net.forward(np.zeros((4, 5, 3)))
    assert y.shape == (4, 5, 2) and h.shape == (2, 5, 2) and c.shape == (2, 5, 6)


def _train_forward(net, x, seed=0):
    net.train(rng=np.random.default_rng(seed))
    y, _ = net.forward(x)
    return y, net._last["caches"][0][1].noise


def test_input_dropout_is_one_mask_per_sequence_over_all_steps():
    net = LSTM(4, 3, input_dropout=0.5, seed=0)
    x = np.random.default_rng(1).normal(size=(7, 3, 4))
    y, noise = _train_forward(net, x)
    assert noise.mx.shape == (3, 4) and set(np.unique(noise.mx)) <= {0.0, 2.0} and 0 < noise.mx.mean() < 2
    net.eval()
    np.testing.assert_allclose(y, net.forward(x * noise.mx[None])[0], rtol=1e-13, atol=1e-13)
    assert not np.allclose(y, net.forward(x)[0])


def test_recurrent_dropout_and_weight_drop_are_masks_on_R():
    x = np.random.default_rng(2).normal(size=(6, 1, 2))
    for opts, scale in (({"recurrent_dropout": 0.4}, lambda n: n.mh[0][None, :]),
                        ({"weight_drop": 0.4}, lambda n: n.MR)):
        net = LSTM(2, 5, seed=0, **opts)
        y, noise = _train_forward(net, x)
        R = net.params["l0.R"].copy()
        net.eval()
        net.params["l0.R"][...] = R * scale(noise)          # the same function, with the mask in the weights
        np.testing.assert_allclose(y, net.forward(x)[0], rtol=1e-12, atol=1e-13)
        net.params["l0.R"][...] = R
        assert not np.allclose(y, net.forward(x)[0])


def test_zoneout_keeps_units_in_training_and_takes_the_expectation_in_evaluation():
    net = LSTM(2, 50, zoneout_cell=0.3, seed=0)
    x = np.random.default_rng(3).normal(size=(40, 4, 2))
    net.train(rng=np.random.default_rng(0))
    net.forward(x)
    c = net.internals()["l0.c"]
    kept = np.isclose(c[1:], c[:-1], rtol=0, atol=0).mean()
    assert 0.27 < kept < 0.33                                 # each unit keeps c(t-1) with probability 0.3
    net.eval()
    net.forward(x)
    it = net.internals()
    i, f, z, c = it["l0.i"], it["l0.f"], it["l0.z"], it["l0.c"]
    c_prev = np.concatenate([np.zeros_like(c[:1]), c[:-1]])
    np.testing.assert_allclose(c, 0.3 * c_prev + 0.7 * (f * c_prev + i * z), rtol=1e-12, atol=1e-14)


def test_modes_noise_and_determinism():
    x = np.random.default_rng(4).normal(size=(5, 2, 3))
    net = LSTM(3, 4, seed=0, recurrent_dropout=0.3, zoneout_hidden=0.2)
    assert not net.training and net.cells[0].stochastic
    ev1, ev2 = net.forward(x)[0], net.forward(x)[0]
    np.testing.assert_array_equal(ev1, ev2)                  # evaluation: no noise
    a = _train_forward(net, x, seed=7)[0]
    b = _train_forward(net, x, seed=7)[0]
    c = _train_forward(net, x, seed=8)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, ev1)
    assert not LSTM(3, 4, layer_norm=True, proj_size=2).cells[0].stochastic


def test_save_and_load_keep_the_options_and_start_in_evaluation(tmp_path):
    from lstmkit.io import load

    net = Network(LSTM(3, 6, seed=0, **ALL), Readout(3, 2, seed=1))
    net.train()
    net.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert not back.training and back.rnn.cells[0].options["proj_size"] == 3
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    np.testing.assert_array_equal(net.eval().forward(x)[0], back.forward(x)[0])


@pytest.mark.parametrize("opts,match", [
    ({"proj_size": 4}, "proj_size must be an integer in"),
    ({"proj_size": -1}, "proj_size"),
    ({"proj_size": 1.5}, "proj_size"),
    ({"recurrent_dropout": 1.0}, "recurrent_dropout must be a rate in"),
    ({"zoneout_cell": -0.1}, "zoneout_cell"),
    ({"weight_drop": True}, "weight_drop"),
    ({"layer_norm": "yes"}, "layer_norm must be True or False"),
    ({"layer_norm": True, "coupled": True}, "expect the cell with input, forget and output gates"),
    ({"proj_size": 2, "variant": "FGR"}, "expect the cell with input, forget and output gates"),
    ({"zoneout_cell": 0.1, "forget_gate": False}, "expect the cell"),
    ({"layer_norm": True, "kernel": "fast"}, "kernel='fast' has no layer_norm"),
])
def test_bad_options_say_what_and_how_to_fix(opts, match):
    with pytest.raises(ValueError, match=match):
        LSTMCell(2, 4, **opts)


def test_truncated_gradient_is_refused():
    net = LSTM(2, 3, layer_norm=True)
    y, _ = net.forward(np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="truncated gradient is not defined for layer_norm"):
        net.backward(np.ones_like(y), truncated=True)


def test_estimator_trains_with_toolbox_options():
    from lstmkit.estimators import LSTMRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 8, 2))
    y = X[:, :, 0].sum(axis=1)
    est = LSTMRegressor(hidden_size=8, epochs=3, seed=0,
                        cell_options={"layer_norm": True, "proj_size": 4, "recurrent_dropout": 0.2,
                                      "zoneout_cell": 0.1})
    est.fit(X, y)
    p1, p2 = est.predict(X), est.predict(X)
    np.testing.assert_array_equal(p1, p2)                     # predictions run in evaluation mode
    assert not est.net_.training
    again = LSTMRegressor(**est.get_params()).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), p1)       # the masks follow the seed


def test_layer_norm_with_one_input_feature_sees_only_its_sign():
    """LN(W x) over the 4H net inputs, x a scalar: (x w - x mean w) / sqrt(x^2 var w + eps) = sign(x) LN(w) up
    to eps / (x^2 var w). docs/toolbox.md cites this for the forecast row, whose only input is the series."""
    net = LSTM(1, 8, layer_norm=True, seed=0)
    x = np.random.default_rng(0).uniform(0.5, 2.0, size=(12, 3, 1)) * np.array([1, -1, 1])[None, :, None]
    y1 = net.forward(x)[0]
    np.testing.assert_allclose(net.forward(3.7 * x)[0], y1, rtol=0, atol=1e-3)   # the magnitude is lost
    assert np.abs(net.forward(-x)[0] - y1).max() > 0.05                          # the sign is not
    plain = LSTM(1, 8, seed=0)
    assert np.abs(plain.forward(3.7 * x)[0] - plain.forward(x)[0]).max() > 0.05
