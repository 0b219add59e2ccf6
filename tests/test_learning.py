"""Losses, optimisers, full and truncated BPTT."""
import numpy as np
import pytest

from lstmkit import LSTM, Network, Readout
from lstmkit.gradcheck import numerical_gradient, relative_error
from lstmkit.health import NumericalError
from lstmkit.learn import SGD, Adam, Momentum, loss_and_gradient, make_optimizer, tbptt
from lstmkit.losses import LOSSES


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradients(name):
    rng = np.random.default_rng(0)
    out = rng.uniform(0.05, 0.95, size=(4, 3, 5))
    if name == "cross_entropy":
        out /= out.sum(axis=2, keepdims=True)
        target = np.eye(5)[rng.integers(0, 5, size=(4, 3))]
    else:
        target = rng.uniform(0, 1, size=out.shape)
    mask = rng.random((4, 3)) < 0.6
    value, d = LOSSES[name](out, target, mask)
    num = numerical_gradient(lambda: LOSSES[name](out, target, mask)[0], out)
    assert relative_error(num, d) < 1e-7
    assert np.all(d[~mask] == 0)


def test_network_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    net = Network(LSTM(2, 3, num_layers=2, seed=0), Readout(3, 2, "softmax", seed=1))
    x = rng.normal(size=(6, 4, 2))
    y = np.eye(2)[rng.integers(0, 2, size=(6, 4))]
    lengths = np.array([6, 3, 5, 1])
    loss_and_gradient(net, x, y, loss="cross_entropy", lengths=lengths)
    ana = net.grad_flat.copy()
    num = numerical_gradient(lambda: loss_and_gradient(net, x, y, loss="cross_entropy", lengths=lengths)[0], net.flat)
    assert relative_error(num, ana) < 1e-6


def test_optimizers_follow_their_equations():
    w0, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    w = w0.copy(); SGD(0.1).step(w, g.copy())
    np.testing.assert_allclose(w, w0 - 0.1 * g)
    w = w0.copy(); m = Momentum(0.1, momentum=0.9)
    m.step(w, g.copy()); m.step(w, g.copy())
    np.testing.assert_allclose(w, w0 - 0.1 * g - 0.1 * (0.9 * g + g))
    w = w0.copy(); a = Adam(0.01)
    a.step(w, g.copy())
    np.testing.assert_allclose(w, w0 - 0.01 * np.sign(g), rtol=1e-6)   # first Adam step is lr * sign(g)
    # clipping by norm rescales the gradient before the step
    w = w0.copy(); gg = np.array([3.0, 4.0]); SGD(1.0, clip_norm=1.0).step(w, gg)
    np.testing.assert_allclose(w, w0 - np.array([0.6, 0.8]))
    # optimiser state round-trips, so a resumed run continues exactly
    b = Adam(0.01); b.load_state_dict(a.state_dict())
    w1, w2 = w0.copy(), w0.copy()
    a.step(w1, g.copy()); b.step(w2, g.copy())
    np.testing.assert_array_equal(w1, w2)
    with pytest.raises(ValueError, match="unknown name 'adagrad'"):
        make_optimizer("adagrad", lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD(-1.0)


def test_tbptt_window_gradient_equals_bptt_on_the_chunk():
    """k1 = k2 = T: one TBPTT window is exactly one full-BPTT step on the whole stream."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 2, 2)), rng.normal(size=(8, 2, 1))
    a = Network(LSTM(2, 3, seed=0), Readout(3, 1, seed=1))
    b = Network(LSTM(2, 3, seed=0), Readout(3, 1, seed=1))
    tbptt(a, x, y, SGD(0.1), k1=8)
    loss_and_gradient(b, x, y)
    SGD(0.1).step(b.flat, b.grad_flat)
    np.testing.assert_allclose(a.flat, b.flat, atol=1e-14)


def test_tbptt_carries_state_and_truncates():
    """k1 = 2, k2 = 4: each update's gradient is BPTT over the last 4 steps from the stored state."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 1, 2)), rng.normal(size=(8, 1, 1))
    net = Network(LSTM(2, 3, seed=0), Readout(3, 1, seed=1))
    ref = Network(LSTM(2, 3, seed=0), Readout(3, 1, seed=1))
    lr = 0.05
    _, state = tbptt(net, x, y, SGD(lr), k1=2, k2=4)
    # replay by hand
    stored = {0: None}
    for end in (2, 4, 6, 8):
        begin = max(0, end - 4)
        out, s_end = ref.forward(x[begin:end], state=stored[begin])
        mask = np.zeros((end - begin, 1), bool); mask[-2:] = True
        loss_and_gradient(ref, x[begin:end], y[begin:end], target_mask=mask, state=stored[begin])
        SGD(lr).step(ref.flat, ref.grad_flat)
        stored[end] = s_end
    np.testing.assert_allclose(net.flat, ref.flat, atol=1e-13)
    np.testing.assert_allclose(state[1], stored[8][1], atol=1e-13)
    with pytest.raises(ValueError, match="multiple of k1"):
        tbptt(net, x, y, SGD(lr), k1=3, k2=4)


def test_training_learns_and_stops_on_nan():
    rng = np.random.default_rng(4)
    net = Network(LSTM(1, 8, seed=0), Readout(8, 1, seed=1))
    x = rng.normal(size=(10, 16, 1))
    y = np.zeros_like(x)
    y[3:] = 0.5 * x[:-3]                      # echo the input 3 steps later: needs memory
    first = loss_and_gradient(net, x, y)[0]
    opt = Adam(0.02)
    for _ in range(300):
        loss_and_gradient(net, x, y)
        opt.step(net.flat, net.grad_flat)
    assert loss_and_gradient(net, x, y)[0] < 0.1 * first
    net.flat[0] = np.nan
    with pytest.raises(NumericalError, match="loss became NaN"):
        tbptt(net, x, y, opt, k1=5)
