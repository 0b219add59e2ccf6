"""Lanes of the 1997 rule: each lane's losses, outputs and weights are bit for bit those of its trial run alone."""
from __future__ import annotations

import numpy as np
import pytest

from lstmkit import LSTM, Network, Readout
from lstmkit.learn.lanes1997 import Lanes1997
from lstmkit.learn.rtrl1997 import RTRL1997

FLAGS = ("output_gate", "forget_gate", "peepholes", "recurrent", "bias_cell", "bias_in", "bias_forget",
         "bias_out", "bias_hidden")


def topology(seed):
    """A random topology of the 1997 family (as tests/test_rtrl1997.py draws them): make(s) builds it with
    weights from seed s; every lane gets its own."""
    rng = np.random.default_rng(seed)
    S, C = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    opts = {k: bool(rng.random() < 0.6) for k in FLAGS}
    opts.update(block_size=S, hidden_units=int(rng.integers(0, 3)), init_range=0.8,
                g=str(rng.choice(["g2", "logistic", "tanh", "identity"])), h=str(rng.choice(["h1", "identity", "tanh"])))
    I, K = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    shortcut, out_act, out_bias = bool(rng.random() < 0.5), str(rng.choice(["logistic", "identity", "tanh"])), \
        bool(rng.random() < 0.7)

    def make(s):
        rnn = LSTM(I, C * S, cell="lstm1997", seed=s, **opts)
        readout = Readout(rnn.output_size + (I if shortcut else 0), K, out_act, bias=out_bias, seed=s + 1,
                          init_range=0.8)
        return Network(rnn, readout, input_shortcut=shortcut)

    return make, I, K


def programs(rng, L, I, K, one_hot=False):
    """L programs of 0-4 sequences of 1-15 steps; dense inputs with exact zeros, or input indices."""
    progs = []
    for _ in range(L):
        prog = []
        for _ in range(int(rng.integers(0, 5))):
            T = int(rng.integers(1, 16))
            y = rng.uniform(size=(T, K))
            tm = rng.random(T) < 0.5
            if one_hot:
                prog.append((None, y, tm, rng.integers(-1, I, size=T)))
            else:
                x = rng.normal(size=(T, I)) * (rng.random((T, I)) < 0.7)
                prog.append((x, y, None if rng.random() < 0.2 else tm, None))
        progs.append(prog)
    if all(not p for p in progs):                  # at least one sequence somewhere
        progs[0].append((None, np.zeros((3, K)), None, np.zeros(3, np.int64)) if one_hot
                        else (np.ones((3, I)), np.zeros((3, K)), None, None))
    return progs


def alone(model, prog, lr, update):
    """The reference: the trial's sequences through RTRL1997, one after another."""
    learner = RTRL1997(model, lr=lr, update=update, specialise=False)
    return [learner.train_sequence(x, y, tm, input_indices=idx) for x, y, tm, idx in prog]


def assert_lanes_equal_alone(make, progs, lr, update, specialise=False):
    L = len(progs)
    lane_models = [make(100 + l) for l in range(L)]
    ref_models = [make(100 + l) for l in range(L)]
    got = Lanes1997(lr=lr, update=update, specialise=specialise).train(lane_models, progs)
    changed = False
    for l in range(L):
        ref = alone(ref_models[l], progs[l], lr, update)
        assert len(got[l]) == len(ref) == len(progs[l])
        for a, b in zip(got[l], ref):
            assert a.outputs.shape == b.outputs.shape
            assert np.array_equal(a.outputs, b.outputs), l
            assert a.loss == b.loss or (np.isnan(a.loss) and np.isnan(b.loss)), l
        # bit for bit, signed zeros included
        assert np.array_equal(lane_models[l].flat.view(np.int64), ref_models[l].flat.view(np.int64)), l
        changed |= not np.array_equal(ref_models[l].flat, make(100 + l).flat)
    assert changed                                 # some lane learned something: the comparison is not vacuous


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("update", ["step", "sequence"])
def test_each_lane_is_its_trial_alone(seed, update):
    make, I, K = topology(seed)
    rng = np.random.default_rng(1000 + seed)
    assert_lanes_equal_alone(make, programs(rng, int(rng.integers(1, 6)), I, K), lr=0.3, update=update)


@pytest.mark.parametrize("seed", range(4))
def test_input_indices_lanes(seed):
    make, I, K = topology(50 + seed)
    rng = np.random.default_rng(seed)
    assert_lanes_equal_alone(make, programs(rng, 4, I, K, one_hot=True), lr=0.5, update="step")


def test_paper_nets_and_the_specialised_kernel():
    """Exp 4's net (93 weights, sequences of ~100 steps, a target at the end) and a forget-gate + peephole
    net with hidden units and the shortcut; generic and specialised lanes kernels."""
    rng = np.random.default_rng(0)
    exp4 = lambda s: Network(LSTM(2, 4, cell="lstm1997", block_size=2, in_gate_bias=[-3.0, -6.0], seed=s),
                             Readout(4, 1, "logistic", init_range=0.1, seed=s + 1))
    progs = []
    for l in range(5):
        prog = []
        for _ in range(3 + l):
            T = int(rng.integers(100, 111))
            x = np.stack([rng.uniform(-1, 1, T), np.zeros(T)], axis=1)
            x[rng.choice(T - 1, 2, replace=False), 1] = 1.0
            tm = np.arange(T) == T - 1
            prog.append((x, np.full((T, 1), rng.uniform()), tm, None))
        progs.append(prog)
    assert_lanes_equal_alone(exp4, progs, lr=0.5, update="step", specialise=True)

    def gers(s):
        rnn = LSTM(3, 4, cell="lstm1997", block_size=2, forget_gate=True, peepholes=True, hidden_units=2,
                   bias_hidden=True, bias_forget=True, init_range=0.5, seed=s)
        return Network(rnn, Readout(rnn.output_size + 3, 2, "logistic", seed=s + 1, init_range=0.5),
                       input_shortcut=True)

    assert_lanes_equal_alone(gers, programs(np.random.default_rng(1), 3, 3, 2), lr=0.3, update="step")


def test_rejects_what_lanes_do_not_cover():
    make, I, K = topology(3)
    other, _, _ = topology(4)
    prog = [(np.ones((2, I)), np.zeros((2, K)), None, None)]
    lanes = Lanes1997(lr=0.1)
    with pytest.raises(ValueError, match="one program per model"):
        lanes.train([make(0)], [prog, prog])
    with pytest.raises(ValueError, match="another topology"):
        lanes.train([make(0), other(0)], [prog, prog])
    with pytest.raises(ValueError, match="not a mix"):
        lanes.train([make(0), make(1)], [prog, [(None, np.zeros((2, K)), None, np.zeros(2, np.int64))]])
    f32 = Network(LSTM(2, 2, cell="lstm1997", dtype="float32", seed=0), Readout(2, 1, "logistic", dtype="float32"))
    with pytest.raises(ValueError, match="float64"):
        lanes.train([f32], [[(np.ones((2, 2)), np.zeros((2, 1)), None, None)]])
    with pytest.raises(ValueError, match="update must be"):
        Lanes1997(update="batch")
    with pytest.raises(ValueError, match="lr must be"):
        Lanes1997(lr=-1.0)
