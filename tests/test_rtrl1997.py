"""rtrl1997: the paper's online rule equals truncated BPTT, runs in O(W) memory, learns, and grows nets."""
from __future__ import annotations

import tracemalloc

import numba
import numpy as np
import pytest

from lstmkit import LSTM, Network, Readout
from lstmkit.learn import rtrl1997 as R
from lstmkit.losses import half_sse

TOL = 1e-10


def truncated_bptt(net, x, y, tm):
    out, _ = net.forward(x[:, None, :])
    _, dout = half_sse(out, y[:, None, :], tm[:, None])
    net.backward(dout, truncated=True)
    return net.grad_flat.copy()


FLAGS = ("output_gate", "forget_gate", "peepholes", "recurrent", "bias_cell", "bias_in", "bias_forget",
         "bias_out", "bias_hidden")


def random_net(seed):
    rng = np.random.default_rng(seed)
    S, C = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    opts = {k: bool(rng.random() < 0.6) for k in FLAGS}
    opts.update(block_size=S, hidden_units=int(rng.integers(0, 3)), init_range=0.8,
                g=str(rng.choice(["g2", "logistic", "tanh", "identity"])), h=str(rng.choice(["h1", "identity", "tanh"])))
    I, K = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    shortcut = bool(rng.random() < 0.5)
    rnn = LSTM(I, C * S, cell="lstm1997", seed=seed, **opts)
    readout = Readout(rnn.output_size + (I if shortcut else 0), K, str(rng.choice(["logistic", "identity", "tanh"])),
                      bias=bool(rng.random() < 0.7), seed=seed + 1, init_range=0.8)
    return Network(rnn, readout, input_shortcut=shortcut), rng


@pytest.mark.parametrize("seed", range(24))
def test_gradient_equals_truncated_bptt(seed):
    net, rng = random_net(seed)
    I, K = net.rnn.input_size, net.readout.out_features
    T = int(rng.integers(1, 12))
    x = rng.normal(size=(T, I))
    x[rng.random((T, I)) < 0.3] = 0.0                       # exact zeros exercise the sparse-input path
    y = rng.uniform(size=(T, K))
    for tm in (np.ones(T, bool), np.eye(1, T, T - 1, dtype=bool)[0], rng.random(T) < 0.5):
        g = R.gradient(net, x, y, tm)
        ref = truncated_bptt(net, x, y, tm)
        assert np.abs(g - ref).max() <= TOL * max(1.0, np.abs(ref).max()), (net.rnn.cells[0], tm)
        if tm.any():
            assert np.abs(ref).max() > 0                   # the comparison is not vacuous


def test_known_topologies_equal_truncated_bptt():
    """The paper's own nets: Exp 4 (93 weights) and Exp 1 (264/276), forget gates + peepholes (CERG-like)."""
    rng = np.random.default_rng(0)
    nets = [
        Network(LSTM(2, 4, cell="lstm1997", block_size=2, in_gate_bias=[-3.0, -6.0], seed=0),
                Readout(4, 1, "logistic", init_range=0.1, seed=1)),
        Network(LSTM(7, 4, cell="lstm1997", bias_cell=False, init_range=0.2, out_gate_bias=[-1, -2, -3, -4], seed=2),
                Readout(4, 7, "logistic", bias=False, seed=3)),
        Network(LSTM(7, 6, cell="lstm1997", block_size=2, bias_cell=False, init_range=0.2, seed=4),
                Readout(6, 7, "logistic", bias=False, seed=5)),
        Network(LSTM(7, 8, cell="lstm1997", block_size=2, forget_gate=True, peepholes=True, forget_gate_bias=2.0,
                     seed=6), Readout(15, 7, "logistic", seed=7), input_shortcut=True),
    ]
    assert [n.num_weights for n in nets[:3]] == [93, 264, 276]     # the paper's counts (facts §1.3)
    for net in nets:
        I, K = net.rnn.input_size, net.readout.out_features
        T = 30
        x = rng.normal(size=(T, I))
        y = rng.uniform(size=(T, K))
        for tm in (np.ones(T, bool), np.arange(T) == T - 1):
            ref = truncated_bptt(net, x, y, tm)
            assert np.abs(R.gradient(net, x, y, tm) - ref).max() <= TOL


@pytest.mark.parametrize("forget", [False, True])
def test_one_hot_indices_equal_dense_inputs(forget):
    I, T = 9, 25
    net = Network(LSTM(I, 2, cell="lstm1997", forget_gate=forget, bias_cell=False, bias_in=False,
                                  bias_out=False, bias_forget=False, init_range=0.5, seed=3),
                             Readout(2 + I, 2, "logistic", bias=False, seed=4), input_shortcut=True)
    rng = np.random.default_rng(5)
    idx = rng.integers(-1, I, size=T)                        # -1: an all-zero input
    x = np.zeros((T, I))
    x[np.arange(T)[idx >= 0], idx[idx >= 0]] = 1.0
    y = rng.uniform(size=(T, 2))
    tm = rng.random(T) < 0.4
    tm[-1] = True
    g_idx = R.gradient(net, None, y, tm, input_indices=idx)
    g_dense = R.gradient(net, x, y, tm)
    ref = truncated_bptt(net, x, y, tm)
    assert np.abs(g_idx - ref).max() <= TOL and np.abs(g_dense - ref).max() <= TOL


def test_exp2c_net_has_6064_weights_and_matches_on_one_hot():
    p = 1000
    net = Network(LSTM(p + 4, 2, cell="lstm1997", bias_cell=False, bias_in=False, bias_out=False,
                                  init_range=0.2, seed=0), Readout(2, 2, "logistic", bias=False, seed=1))
    assert net.num_weights == 6064
    rng = np.random.default_rng(1)
    T = 40
    idx = rng.integers(0, p + 4, size=T)
    x = np.zeros((T, p + 4))
    x[np.arange(T), idx] = 1.0
    y = np.zeros((T, 2))
    y[-1, 1] = 1.0
    tm = np.arange(T) == T - 1
    assert np.abs(R.gradient(net, None, y, tm, input_indices=idx) - truncated_bptt(net, x, y, tm)).max() <= TOL


def test_batch_gradient_is_the_sum_over_sequences():
    net, rng = random_net(3)
    I, K = net.rnn.input_size, net.readout.out_features
    T, B = 8, 3
    x = rng.normal(size=(T, B, I))
    y = rng.uniform(size=(T, B, K))
    tm = rng.random((T, B)) < 0.5
    lengths = np.array([8, 3, 5])
    total = R.gradient(net, x, y, tm, lengths=lengths)
    parts = sum(R.gradient(net, x[:L, b], y[:L, b], tm[:L, b]) for b, L in enumerate(lengths))
    assert np.abs(total - parts).max() <= TOL


def test_sequence_update_is_minus_lr_times_gradient_and_step_matches_it_for_end_targets():
    net, rng = random_net(11)
    I, K = net.rnn.input_size, net.readout.out_features
    T = 10
    x, y = rng.normal(size=(T, I)), rng.uniform(size=(T, K))
    end = np.arange(T) == T - 1
    w0 = net.flat.copy()
    g = R.gradient(net, x, y, end)
    R.RTRL1997(net, lr=0.3, update="sequence").train_sequence(x, y, end)
    w_seq = net.flat.copy()
    assert np.abs(w_seq - (w0 - 0.3 * g)).max() <= 1e-14
    net.flat[...] = w0
    R.RTRL1997(net, lr=0.3, update="step").train_sequence(x, y, end)
    assert np.abs(net.flat - w_seq).max() <= 1e-14


def test_step_update_with_targets_everywhere_is_first_order_the_gradient():
    net, rng = random_net(12)
    I, K = net.rnn.input_size, net.readout.out_features
    T = 10
    x, y = rng.normal(size=(T, I)), rng.uniform(size=(T, K))
    w0 = net.flat.copy()
    g = R.gradient(net, x, y)
    for lr in (1e-3, 1e-4):
        net.flat[...] = w0
        R.RTRL1997(net, lr=lr, update="step").train_sequence(x, y)
        dev = np.abs((w0 - net.flat) / lr - g).max()
        assert dev <= 50 * lr * max(1.0, np.abs(g).max())    # O(lr): changes within the sequence
    assert dev > 0                                           # and it does differ from "sequence"


def _nrt_allocations():
    from numba.core.runtime import _nrt_python, rtsys
    _nrt_python.memsys_enable_stats()
    return rtsys.get_allocation_stats().alloc


def test_memory_does_not_grow_with_sequence_length():
    net = Network(LSTM(2, 4, cell="lstm1997", block_size=2, seed=0), Readout(4, 1, "logistic", seed=1))
    learner = R.RTRL1997(net, lr=0.1)
    rng = np.random.default_rng(0)
    peaks, allocs = [], []
    for T in (100, 10_000):
        x = rng.uniform(-1, 1, size=(T, 2))
        y = np.zeros((T, 1))
        tm = np.arange(T) == T - 1
        learner.train_sequence(x, y, tm)                     # compiled and warm
        a0 = _nrt_allocations()
        tracemalloc.start()
        learner.train_sequence(x, y, tm)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        allocs.append(_nrt_allocations() - a0)
    # Python side: no array of size T is made (x alone would be 160 kB for T = 10000) ...
    assert abs(peaks[1] - peaks[0]) < 4096, peaks
    # ... and inside the kernel the same number of allocations whatever T (all of size O(W)).
    assert allocs[0] == allocs[1], allocs
    if not numba.config.DISABLE_JIT:
        assert allocs[0] > 0                                 # the counter does count the kernel's scratch


def _latch_sequence(rng, T=10):
    c = int(rng.integers(2))
    x = np.zeros((T, 2))
    x[0, 0] = 2.0 * c - 1.0                                  # the sign to remember
    x[:, 1] = rng.normal(scale=0.5, size=T)                  # distracting noise on the other line
    y = np.zeros((T, 1))
    y[-1, 0] = c
    return x, y, np.arange(T) == T - 1


@pytest.mark.parametrize("update", ["step", "sequence"])
def test_online_training_learns_a_short_lag_task(update):
    rng = np.random.default_rng(0)
    net = Network(LSTM(2, 2, cell="lstm1997", init_range=0.2, in_gate_bias=-1.0, seed=0),
                  Readout(2, 1, "logistic", init_range=0.2, seed=1))
    learner = R.RTRL1997(net, lr=1.0, update=update)
    errors = []
    for _ in range(2000):
        x, y, tm = _latch_sequence(rng)
        errors.append(abs(learner.train_sequence(x, y, tm).outputs[0, 0] - y[-1, 0]))
    assert np.mean(errors[:200]) > 0.4                      # chance level at first
    test = [_latch_sequence(rng) for _ in range(200)]
    final = [abs(learner.evaluate(*s).outputs[0, 0] - s[1][-1, 0]) for s in test]
    assert np.mean(final) < 0.05 and max(final) < 0.2


def test_reset_false_continues_a_stream():
    net, rng = random_net(5)
    I, K = net.rnn.input_size, net.readout.out_features
    x, y = rng.normal(size=(12, I)), rng.uniform(size=(12, K))
    w0 = net.flat.copy()
    whole = R.RTRL1997(net, lr=0.01).train_sequence(x, y).outputs
    w_whole = net.flat.copy()
    net.flat[...] = w0
    b = R.RTRL1997(net, lr=0.01)
    first = b.train_sequence(x[:5], y[:5]).outputs
    second = b.train_sequence(x[5:], y[5:], reset=False).outputs
    assert np.abs(np.vstack([first, second]) - whole).max() <= 1e-14
    assert np.abs(net.flat - w_whole).max() <= 1e-14


def test_bare_readout_is_the_delta_rule():
    rng = np.random.default_rng(0)
    ro = Readout(5, 3, "logistic", seed=0)
    x, y = rng.normal(size=(6, 5)), rng.uniform(size=(6, 3))
    tm = rng.random(6) < 0.6
    g = R.gradient(ro, x, y, tm)
    out = ro.forward(x)
    _, dout = half_sse(out, y, tm)
    ro.backward(dout)
    assert np.abs(g - ro.grad_flat).max() <= TOL


def _grown_equals_old(old, new, x, rng):
    """Zero every weight out of the new block: the grown net must then compute what the old one did."""
    cell = new.rnn.cells[0]
    S, H = cell.block_size, cell.hidden_size
    sl = cell.unit_slices()
    new_units = [*range(H - S, H), sl["in"].stop - 1, *([sl["f"].stop - 1] if "f" in sl else []),
                 *([sl["out"].stop - 1] if "out" in sl else [])]
    if "l0.R" in new.rnn.params:
        new.rnn.params["l0.R"][:, new_units] = 0.0
    new.readout.params["W"][:, H - S:H] = 0.0
    T, K = x.shape[0], old.readout.out_features
    y = np.zeros((T, K))
    out_old = R.RTRL1997(old).evaluate(x, y).outputs
    out_new = R.RTRL1997(new).evaluate(x, y).outputs
    return np.abs(out_old - out_new).max()


def test_add_block_copies_every_weight():
    rng = np.random.default_rng(0)
    for opts, shortcut in ((dict(block_size=2, forget_gate=True, peepholes=True, hidden_units=1), True),
                           (dict(block_size=1, output_gate=False, recurrent=False), False)):
        S = opts["block_size"]
        old = Network(LSTM(3, 2 * S, cell="lstm1997", seed=1, init_range=0.5, **opts),
                      Readout(2 * S + opts.get("hidden_units", 0) + (3 if shortcut else 0), 2, "logistic", seed=2),
                      input_shortcut=shortcut)
        new = R.add_block(old, rng, in_gate_bias=-4.0)
        assert new.rnn.cells[0].n_blocks == 3
        assert new.rnn.params["l0.b_in"][-1] == -4.0
        assert new.num_weights > old.num_weights
        assert _grown_equals_old(old, new, rng.normal(size=(9, 3)), rng) <= 1e-14


def test_add_block_from_stage0_readout():
    rng = np.random.default_rng(0)
    ro = Readout(6, 6, "logistic", bias=False, seed=0, init_range=0.2)
    opts = dict(output_gate=False, recurrent=False, g="logistic", h="identity", bias_cell=False, bias_in=False,
                init_range=0.2)
    net = R.add_block(ro, rng, cell_options=opts)
    assert net.input_shortcut and net.rnn.cells[0].n_blocks == 1
    assert np.array_equal(net.readout.params["W"][:, 1:], ro.params["W"])
    # Exp 2a at p = 100: 101 inputs and outputs, 1 cell + 1 input gate, no biases -> 10504 weights.
    big = R.add_block(Readout(101, 101, "logistic", bias=False), rng, cell_options=opts)
    assert big.num_weights == 10504
    x = rng.normal(size=(5, 6))
    net.readout.params["W"][:, 0] = 0.0                      # without the cell's output weight ...
    out = R.RTRL1997(net).evaluate(x, np.zeros((5, 6))).outputs
    assert np.abs(out - ro.forward(x)).max() <= 1e-14        # ... the grown net is the old readout


def test_plateau_and_sequential_construction():
    p = R.Plateau(window=10, patience=20, min_improvement=0.01)
    fired = [p.update(1.0 / (1 + k)) for k in range(200)]     # falling error: never a plateau
    assert not any(fired)
    p = R.Plateau(window=10, patience=20, min_improvement=0.01)
    fired = [p.update(0.5) for _ in range(100)]
    assert fired.index(True) == 10 - 1 + 20                  # window filled, then patience
    rng = np.random.default_rng(0)
    sc = R.SequentialConstruction(rng, R.Plateau(window=5, patience=5), max_blocks=1,
                                  cell_options=dict(output_gate=False, recurrent=False, bias_cell=False,
                                                    bias_in=False, g="logistic", h="identity"))
    model = Readout(4, 4, "logistic", bias=False)
    grown = []
    for _ in range(60):
        model, g = sc.update(model, 0.3)
        grown.append(g)
    assert sum(grown) == 1 and isinstance(model, Network) and sc.grown_at == [10]


def test_rejects_what_the_rule_does_not_cover():
    with pytest.raises(ValueError, match="lstm1997"):
        R.RTRL1997(Network(LSTM(2, 3, cell="rnn"), Readout(3, 1)))
    with pytest.raises(ValueError, match="one unidirectional layer"):
        R.RTRL1997(Network(LSTM(2, 2, cell="lstm1997", num_layers=2), Readout(2, 1)))
    with pytest.raises(ValueError, match="softmax"):
        R.RTRL1997(Network(LSTM(2, 2, cell="lstm1997"), Readout(2, 3, "softmax")))
    net = Network(LSTM(2, 2, cell="lstm1997"), Readout(2, 1))
    with pytest.raises(ValueError, match="update"):
        R.RTRL1997(net, update="batch")
    with pytest.raises(ValueError, match="specialise must be None"):
        R.RTRL1997(net, specialise="yes")
    with pytest.raises(ValueError, match="x: expected"):
        R.RTRL1997(net).gradient(np.zeros((5, 3)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="input_indices"):
        R.RTRL1997(net).gradient(None, np.zeros((2, 1)), input_indices=np.array([0, 2]))


def test_network_forward_sees_the_flat_weights():
    """rtrl1997 changes ``net.flat``; net.forward must then compute with the changed weights
    (the cells' parameter views must live in the network's one buffer)."""
    net = Network(LSTM(2, 2, cell="lstm1997", seed=0), Readout(2, 1, "logistic", seed=1))
    x = np.ones((3, 2))
    before = net.forward(x)[0].copy()
    net.rnn.params["l0.W"][...] += 1.0
    assert np.abs(net.forward(x)[0] - before).max() > 1e-6


@pytest.mark.parametrize("kind", ["everything", "one-hot 2c"])
def test_specialised_kernel_gives_the_same_bits_and_takes_over_after_the_threshold(kind, monkeypatch):
    # Each topology compiles its own kernel (~4 s), so two cover the branches: forget gates, peepholes,
    # hidden units, biases and the input shortcut; and the paper's 2c net on input indices.
    if kind == "everything":
        rnn = LSTM(3, 4, cell="lstm1997", block_size=2, forget_gate=True, peepholes=True, hidden_units=2,
                   bias_hidden=True, bias_forget=True, init_range=0.5, seed=3)
        net = Network(rnn, Readout(rnn.output_size + 3, 2, "logistic", seed=4, init_range=0.5), input_shortcut=True)
    else:
        net = Network(LSTM(14, 2, cell="lstm1997", bias_cell=False, bias_in=False, bias_out=False, init_range=0.2,
                           seed=5), Readout(2, 2, "logistic", bias=False, init_range=0.2, seed=6))
    rng = np.random.default_rng(7)
    seqs = []
    for _ in range(12):
        T = int(rng.integers(5, 30))
        tm = rng.random(T) < 0.4
        y = rng.uniform(size=(T, 2))
        if kind == "everything":
            x = rng.normal(size=(T, 3)) * (rng.random((T, 3)) < 0.7)
            seqs.append(dict(x=x, y=y, target_mask=tm))
        else:
            seqs.append(dict(x=None, y=y, target_mask=tm, input_indices=rng.integers(-1, 14, size=T)))

    w0 = net.flat.copy()

    def train(specialise):
        net.flat[...] = w0
        learner = R.RTRL1997(net, lr=0.3, specialise=specialise)
        outs = [learner.train_sequence(**s).outputs for s in seqs]
        return learner, net.flat.copy(), outs

    monkeypatch.setattr(R, "SPECIALISE_AFTER", 40)      # "auto" switches after the first few sequences
    runs = {sp: train(sp) for sp in (False, None, True)}
    generic, w_generic, out_generic = runs[False]
    assert generic._kernel is R._sequence_kernel
    for sp in (None, True):
        special, w_special, out_special = runs[sp]
        assert special._kernel is not R._sequence_kernel, sp
        assert np.array_equal(w_generic, w_special), sp
        assert all(np.array_equal(a, b) for a, b in zip(out_generic, out_special)), sp
    assert not np.array_equal(w_generic, w0)             # training changed the weights: not vacuous
