"""The network layer: stacking, directions, lengths, batch_first, readouts, gradients and errors."""
import numpy as np
import pytest

import lstmkit
from lstmkit import LSTM, Network, Readout
from lstmkit.gradcheck import check_module

TOL = 1e-6
CELL_CASES = [
    ("lstm", {}),
    ("lstm", {"variant": "vanilla"}),
    ("lstm", {"variant": "FGR"}),
    ("lstm1997", {"block_size": 2}),
    ("lstm1997", {"forget_gate": True, "peepholes": True, "hidden_units": 1}),
    ("rnn", {}),
]


def _hidden(cell, opts):
    return 4 if opts.get("block_size", 1) in (1, 2) else 6


@pytest.mark.parametrize("cell,opts", CELL_CASES)
@pytest.mark.parametrize("layers,bidir", [(1, False), (2, True)])
def test_stack_gradients_with_lengths(cell, opts, layers, bidir):
    rng = np.random.default_rng(1)
    net = LSTM(3, _hidden(cell, opts), num_layers=layers, bidirectional=bidir, cell=cell, seed=2, **opts)
    x = rng.normal(size=(6, 3, 3))
    lengths = np.array([6, 2, 4])
    state = tuple(rng.normal(size=s.shape) * 0.5 for s in net.forward(x)[1])
    err = check_module(net, x, seed=3, state=state, lengths=lengths)
    assert max(err.values()) < TOL, err


def test_network_with_readouts_gradients():
    rng = np.random.default_rng(0)
    for activation in ("identity", "logistic", "softmax"):
        net = Network(LSTM(2, 3, num_layers=2, seed=0), Readout(3, 4, activation, seed=1))
        err = check_module(net, rng.normal(size=(5, 2, 2)), seed=4)
        assert max(err.values()) < TOL, (activation, err)


def test_batch_first_and_unbatched_agree_with_time_major():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3, 2))
    a = LSTM(2, 3, bidirectional=True, seed=5)
    b = LSTM(2, 3, bidirectional=True, batch_first=True, seed=5)
    ya, sa = a.forward(x)
    yb, sb = b.forward(x.transpose(1, 0, 2))
    np.testing.assert_array_equal(ya, yb.transpose(1, 0, 2))
    y1, s1 = a.forward(x[:, 1])
    np.testing.assert_allclose(y1, ya[:, 1], atol=1e-15)
    np.testing.assert_allclose(s1[0], sa[0][:, 1], atol=1e-15)


def test_lengths_equal_separate_runs():
    """A padded batch with lengths gives what each sequence gives alone (both directions)."""
    rng = np.random.default_rng(3)
    net = LSTM(2, 4, num_layers=2, bidirectional=True, seed=1)
    lengths = np.array([5, 2, 3])
    x = rng.normal(size=(5, 3, 2))
    y, (h, c) = net.forward(x, lengths=lengths)
    for b, n in enumerate(lengths):
        yb, (hb, cb) = net.forward(x[:n, b : b + 1])
        np.testing.assert_allclose(y[:n, b], yb[:, 0], atol=1e-13)
        assert np.all(y[n:, b] == 0)
        np.testing.assert_allclose(h[:, b], hb[:, 0], atol=1e-13)
        np.testing.assert_allclose(c[:, b], cb[:, 0], atol=1e-13)
    mask = np.arange(5)[:, None] < lengths[None, :]
    y2, _ = net.forward(x, mask=mask)
    np.testing.assert_array_equal(y, y2)


def test_internals_shapes_and_meaning():
    net = LSTM(2, 3, bidirectional=True, seed=0)
    x = np.random.default_rng(0).normal(size=(4, 2, 2))
    y, _ = net.forward(x)
    ins = net.internals()
    for key in ("l0.i", "l0.f", "l0.z", "l0.o", "l0.c", "l0.h", "l0_reverse.c"):
        assert ins[key].shape == (4, 2, 3), key
    np.testing.assert_allclose(ins["l0.h"], y[:, :, :3])
    np.testing.assert_allclose(ins["l0_reverse.h"], y[:, :, 3:])


def test_one_contiguous_buffer_is_shared():
    net = Network(LSTM(2, 3, num_layers=2, seed=0), Readout(3, 1, seed=0))
    assert np.shares_memory(net.flat, net.rnn.flat) and np.shares_memory(net.flat, net.readout.params["W"])
    for ps in net.rnn._cell_params:          # the cells read views of the network's one buffer too
        assert np.shares_memory(net.flat, ps.flat) and np.shares_memory(net.grad_flat, ps.grad_flat)
    x = np.random.default_rng(0).normal(size=(4, 2, 2))
    before = net.forward(x)[0]
    net.flat[:] = 0.5
    assert np.all(net.rnn.params["l0.W"] == 0.5) and np.all(net.rnn._cell_params[1].params["R"] == 0.5)
    assert not np.allclose(net.forward(x)[0], before)
    net.backward(np.ones((4, 2, 1)))
    assert np.all(net.grads["rnn.l0.W"] != 0) and np.all(net.grads["out.W"] != 0)
    assert sorted(net.params) == sorted(net.grads)
    assert net.num_weights == net.rnn.num_weights + net.readout.num_weights


def test_seed_determinism():
    a, b, c = LSTM(3, 5, num_layers=2, seed=7), LSTM(3, 5, num_layers=2, seed=7), LSTM(3, 5, num_layers=2, seed=8)
    np.testing.assert_array_equal(a.flat, b.flat)
    assert not np.array_equal(a.flat, c.flat)
    g = np.random.default_rng(5)
    d = LSTM(3, 5, seed=g)
    assert d.num_weights == 4 * 5 * (3 + 5 + 1)


@pytest.mark.parametrize("cell,opts", CELL_CASES)
def test_save_load_round_trip(tmp_path, cell, opts):
    net = Network(LSTM(3, _hidden(cell, opts), num_layers=2, cell=cell, seed=3, **opts), Readout(_hidden(cell, opts) + opts.get("hidden_units", 0), 2, "softmax", seed=4))
    net.save(tmp_path / "m")
    back = lstmkit.load(tmp_path / "m")
    assert type(back) is Network and back.config() == net.config()
    np.testing.assert_array_equal(back.flat, net.flat)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    np.testing.assert_array_equal(back.forward(x)[0], net.forward(x)[0])
    net.save(tmp_path / "m")  # overwriting a saved model is atomic and leaves no temporary files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_load_refuses_damaged_or_foreign_directories(tmp_path):
    net = LSTM(2, 2, seed=0)
    net.save(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        lstmkit.load(tmp_path)
    cfg = (tmp_path / "m" / "config.json").read_text()
    (tmp_path / "m" / "config.json").write_text(cfg.replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ValueError, match="format version 99"):
        lstmkit.load(tmp_path / "m")
    net.save(tmp_path / "m")
    w = dict(np.load(tmp_path / "m" / "weights.npz"))
    w["l0.W"] = w["l0.W"] + 1
    np.savez(tmp_path / "m" / "weights.npz", **w)
    with pytest.raises(ValueError, match="checksum"):
        lstmkit.load(tmp_path / "m")
    # Found by benchmarks/fuzz_loaders.py: a damaged zip and a config missing a field.
    (tmp_path / "m" / "weights.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="damaged"):
        lstmkit.load(tmp_path / "m")
    Network(LSTM(2, 2, seed=0), Readout(2, 1, seed=0)).save(tmp_path / "n")
    cfg = (tmp_path / "n" / "config.json").read_text()
    (tmp_path / "n" / "config.json").write_text(cfg.replace('"readout"', '"readoot"'))
    with pytest.raises(ValueError, match="config .* is damaged"):
        lstmkit.load(tmp_path / "n")
    # A config asking for a huge net is refused before anything is allocated.
    (tmp_path / "n" / "config.json").write_text(cfg.replace('"hidden_size": 2', '"hidden_size": 200000'))
    with pytest.raises(ValueError, match="describes .* weights but weights.npz claims"):
        lstmkit.load(tmp_path / "n")
    (tmp_path / "n" / "config.json").write_text(cfg.replace('"hidden_size": 2', '"hidden_size": 20000000'))
    with pytest.raises(ValueError, match="hidden_size: expected an integer <= 1048576"):
        lstmkit.load(tmp_path / "n")
    (tmp_path / "n" / "config.json").write_text(cfg.replace('"hidden_size": 2', '"hidden_size": 1e999'))
    with pytest.raises(ValueError, match="damaged"):
        lstmkit.load(tmp_path / "n")
    # ... and so is one claiming 10^40 layers, quickly (the fuzzer found this one hanging).
    (tmp_path / "n" / "config.json").write_text(cfg.replace('"num_layers": 1', '"num_layers": ' + "2" * 41))
    with pytest.raises(ValueError, match="describes .* weights but weights.npz claims"):
        lstmkit.load(tmp_path / "n")


@pytest.mark.parametrize("bad,exc,match", [
    (np.zeros((4, 2)).astype(int), TypeError, "floating-point"),
    (np.zeros((4, 2, 5)), ValueError, "expected 3 input features"),
    (np.zeros((4, 2, 3, 1)), ValueError, "dimensions"),
    (np.zeros((0, 2, 3)), ValueError, "empty"),
    (np.full((4, 2, 3), np.nan), ValueError, "NaN"),
    ("abc", TypeError, "expected an array"),
])
def test_bad_inputs_are_named(bad, exc, match):
    net = LSTM(3, 2, seed=0)
    with pytest.raises(exc, match=match):
        net.forward(bad)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown cell 'gru'"):
        LSTM(2, 3, cell="gru")
    with pytest.raises(TypeError, match="unknown option"):
        LSTM(2, 3, cell="lstm", forgetgate=True)
    with pytest.raises(TypeError, match="float32"):
        LSTM(2, 3, dtype="int32")
    with pytest.raises(ValueError, match="hidden_size"):
        LSTM(2, 0)
    net = LSTM(2, 3, num_layers=2, seed=0)
    x = np.zeros((4, 2, 2))
    with pytest.raises(ValueError, match=r"state\['h'\]: expected shape \(2, 2, 3\)"):
        net.forward(x, state=(np.zeros((1, 2, 3)), np.zeros((2, 2, 3))))
    with pytest.raises(ValueError, match="lengths in"):
        net.forward(x, lengths=np.array([5, 1]))
    with pytest.raises(ValueError, match="gaps"):
        net.forward(x, mask=np.array([[1, 1], [0, 1], [1, 1], [0, 0]], dtype=bool))
    with pytest.raises(RuntimeError, match="forward first"):
        LSTM(2, 3).backward(np.zeros((4, 2, 3)))
    net.forward(x)
    with pytest.raises(ValueError, match="dy: expected the shape of y"):
        net.backward(np.zeros((4, 2, 2)))
