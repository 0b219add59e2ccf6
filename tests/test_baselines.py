"""The paper's competitors: full RTRL, Elman nets, random guessing, and the ALGORITHMS registry."""
from __future__ import annotations

import numpy as np
import pytest

from lstmkit import LSTM, Network, Readout
from lstmkit.learn import elman, rtrl
from lstmkit.learn.algorithms import ALGORITHMS, get_algorithm
from lstmkit.learn.guess import guess
from lstmkit.losses import half_sse

TOL = 1e-10


def vanilla(seed, I=2, H=3, K=2, shortcut=False, nonlinearity="logistic", activation="logistic", bias=True):
    rnn = LSTM(I, H, cell="rnn", nonlinearity=nonlinearity, init_range=1.0, seed=seed)
    return Network(rnn, Readout(H + (I if shortcut else 0), K, activation, bias=bias, seed=seed + 1, init_range=1.0),
                   input_shortcut=shortcut)


def bptt(net, x, y, tm):
    out, _ = net.forward(x[:, None, :])
    _, dout = half_sse(out, y[:, None, :], tm[:, None])
    net.backward(dout)
    return net.grad_flat.copy()


@pytest.mark.parametrize("seed", range(8))
def test_full_rtrl_equals_untruncated_bptt(seed):
    rng = np.random.default_rng(seed)
    I, H, K = (int(v) for v in rng.integers(1, 5, size=3))
    net = vanilla(seed, I, H, K, shortcut=bool(seed % 2), nonlinearity=["logistic", "tanh"][seed // 2 % 2],
                  activation=["logistic", "identity"][seed // 4 % 2], bias=seed != 3)
    T = int(rng.integers(1, 15))
    x, y = rng.normal(size=(T, I)), rng.uniform(size=(T, K))
    for tm in (np.ones(T, bool), np.arange(T) == T - 1, rng.random(T) < 0.5):
        ref = bptt(net, x, y, tm)
        assert np.abs(rtrl.gradient(net, x, y, tm) - ref).max() <= TOL * max(1.0, np.abs(ref).max())


def test_rtrl_2a_baseline_topology_and_update_modes():
    p = 10                                                   # the paper's RTRL failed already at p = 10
    net = Network(LSTM(p + 1, 1, cell="rnn", nonlinearity="logistic", init_range=0.2, seed=0),
                  Readout(1 + p + 1, p + 1, "logistic", bias=False, init_range=0.2, seed=1), input_shortcut=True)
    assert net.num_weights == (p + 1 + 1) + (p + 1) * (p + 2) + 1   # the paper's count plus the cell's bias
    rng = np.random.default_rng(0)
    x = np.eye(p + 1)[rng.integers(0, p + 1, size=p)]
    y = np.eye(p + 1)[rng.integers(0, p + 1, size=p)]
    w0 = net.flat.copy()
    g = rtrl.gradient(net, x, y)
    rtrl.train_sequence(net, x, y, lr=0.5, update="sequence")
    assert np.abs(net.flat - (w0 - 0.5 * g)).max() <= 1e-14
    net.flat[...] = w0
    rtrl.train_sequence(net, x, y, lr=0.5, update="step")
    assert np.abs(net.flat - (w0 - 0.5 * g)).max() > 1e-6   # step-wise changes differ within the sequence


def test_rtrl_online_learns_a_one_step_delay():
    rng = np.random.default_rng(0)
    net = vanilla(0, I=1, H=2, K=1)
    learner = rtrl.RTRL(net, lr=1.0)

    def seq():
        x = rng.integers(0, 2, size=(8, 1)).astype(float)
        y = np.vstack([[[0.5]], x[:-1]])                     # output the previous input
        return x, y, np.arange(8) > 0

    first = np.mean([learner.train_sequence(*seq()).loss for _ in range(50)])
    for _ in range(1500):
        learner.train_sequence(*seq())
    last = np.mean([learner.train_sequence(*seq()).loss for _ in range(50)])
    assert last < 0.1 * first


def test_elman_gradient_is_the_sum_of_one_step_gradients():
    rng = np.random.default_rng(1)
    net = vanilla(2, I=2, H=3, K=2)
    T = 6
    x, y = rng.normal(size=(T, 2)), rng.uniform(size=(T, 2))
    tm = rng.random(T) < 0.7
    tm[-1] = True
    g = elman.gradient(net, x, y, tm)
    # Context units as inputs: each step is a fresh one-step net whose state input is h(t-1).
    _, _ = net.forward(x[:, None, :])
    hs = net.internals()["l0.h"][:, 0]
    total = np.zeros_like(g)
    for t in np.nonzero(tm)[0]:
        state = (np.zeros((1, 3)) if t == 0 else hs[t - 1][None],)
        out, _ = net.forward(x[t:t + 1], state=state)
        _, dout = half_sse(out, y[t:t + 1])
        net.backward(dout)
        total += net.grad_flat
    assert np.abs(g - total).max() <= TOL
    assert np.abs(g - bptt(net, x, y, tm)).max() > 1e-6     # and it is not full BPTT ...
    one = np.arange(1)
    assert np.abs(elman.gradient(net, x[:1], y[:1]) - bptt(net, x[:1], y[:1], one == 0)).max() <= TOL  # ... but T=1 is


@pytest.mark.parametrize("update", ["step", "sequence"])
def test_elman_training_reduces_the_error(update):
    rng = np.random.default_rng(0)
    net = vanilla(0, I=1, H=3, K=1)

    def seq():
        x = rng.integers(0, 2, size=(6, 1)).astype(float)
        return x, x.copy(), None                            # echo the current input

    first = np.mean([elman.train_sequence(net, *seq(), lr=0.5, update=update).loss for _ in range(20)])
    for _ in range(300):
        elman.train_sequence(net, *seq(), lr=0.5, update=update)
    last = np.mean([elman.train_sequence(net, *seq(), lr=0.5, update=update).loss for _ in range(20)])
    assert last < 0.2 * first


def _latch_problem():
    """Bengio et al.'s latch in the guessing paper's form: the first input's sign, read out 30 steps later."""
    T = 30
    xs = np.zeros((T, 2, 1))
    xs[0, 0, 0], xs[0, 1, 0] = 1.0, -1.0
    targets = np.array([1.0, 0.0])
    net = Network(LSTM(1, 1, cell="rnn", nonlinearity="logistic"), Readout(1, 1, "logistic"))

    def solved(n):
        out = n.forward(xs)[0][-1, :, 0]
        return bool(np.all(np.abs(out - targets) < 0.2))

    return net, solved


def test_random_guessing_solves_the_latch_deterministically():
    net, solved = _latch_problem()
    a = guess(net, solved, np.random.default_rng(0), w=100.0, max_trials=5000)
    w_a = net.flat.copy()
    b = guess(net, solved, np.random.default_rng(0), w=100.0, max_trials=5000)
    assert a.solved and a == b and np.array_equal(w_a, net.flat)
    assert 1 < a.trials <= 1000                              # not solved by the first draw, yet quickly
    assert solved(net) and np.abs(net.flat).max() <= 100.0
    c = guess(net, lambda n: False, np.random.default_rng(0), max_trials=7)
    assert c.trials == 7 and not c.solved


def test_registry_entries_and_their_gradients_agree():
    assert set(ALGORITHMS) == {"bptt", "tbptt", "rtrl1997", "rtrl", "elman", "guess"}
    for a in ALGORITHMS.values():
        assert a.name and a.description and "\n" not in a.description
        assert a.gradient or a.train_sequence or a.search
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 2)), rng.uniform(size=(7, 1))
    tm = np.arange(7) >= 3
    lstm = Network(LSTM(2, 4, cell="lstm1997", block_size=2, seed=0), Readout(4, 1, "logistic", seed=1))
    g_trunc = get_algorithm("bptt").gradient(lstm, x, y, tm, truncated=True)
    assert np.abs(get_algorithm("rtrl1997").gradient(lstm, x, y, tm) - g_trunc).max() <= TOL
    van = vanilla(0, I=2, H=3, K=1)
    assert np.abs(get_algorithm("rtrl").gradient(van, x, y, tm) - get_algorithm("bptt").gradient(van, x, y, tm)).max() <= TOL
    for name, kw in (("bptt", {}), ("tbptt", {"k1": 3}), ("rtrl", {}), ("elman", {})):
        w0 = van.flat.copy()
        res = get_algorithm(name).train_sequence(van, x, y, tm, lr=0.1, **kw)
        assert np.isfinite(res.loss) and not np.array_equal(w0, van.flat)
    res = get_algorithm("rtrl1997").train_sequence(lstm, x, y, tm, lr=0.1)
    assert res.outputs.shape == (4, 1)
    with pytest.raises(ValueError, match="unknown"):
        get_algorithm("backprop")
