"""ONNX export (lstmkit.interop.onnx, lstmkit export): onnxruntime as the oracle, the whitelist's refusals,
and the command's file safety.

Every round trip runs the float32 ONNX graph in onnxruntime and compares it with lstmkit's forward in
float64 (so the tolerance, 1e-5, covers the export and float32's rounding), at two different (T, B) on
the same serialised model. Weights are drawn uniform in [-1, 1] (wider than the default init) so the
gates saturate and open in between, and a wrong block or peephole order shows.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import lstmkit
from lstmkit.cells import LSTMCell
from lstmkit.cells.lstm import VARIANTS
from lstmkit.cli import main
from lstmkit.interop import onnx as ox

from _train_data import sequences_npz

TOL = 1e-5
SIZES = ((7, 4), (12, 1))          # two (T, B) through the same file: the dims are dynamic


def _net(I=3, H=5, out=4, activation="identity", shortcut=False, bias=True, seed=0, **kw):
    rnn = lstmkit.LSTM(I, H, seed=seed, **kw)
    net = lstmkit.Network(rnn, lstmkit.Readout(rnn.output_size + (I if shortcut else 0), out, activation,
                                               bias=bias, seed=seed + 1), input_shortcut=shortcut)
    net.flat[:] = np.random.default_rng(seed + 2).uniform(-1, 1, net.flat.size)
    return net


def _session(model):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _inputs(rnn, T, B, rng, lengths=False, state=False):
    x = rng.normal(size=(B, T, rnn.input_size) if rnn.batch_first else (T, B, rnn.input_size))
    feed, kw = {"x": x.astype(np.float32)}, {}
    if lengths:
        lens = rng.integers(1, T + 1, size=B).astype(np.int32)
        lens[0] = T                                             # the longest fills the batch
        if B > 1:
            lens[-1] = 1
        feed["sequence_lens"], kw["lengths"] = lens, lens
    if state:
        L = rnn.num_layers * rnn.num_directions
        h0, c0 = rng.normal(size=(2, L, B, rnn.hidden_size))
        feed["h0"], feed["c0"] = h0.astype(np.float32), c0.astype(np.float32)
        kw["state"] = (h0, c0)
    return x, feed, kw


def _round_trip(net, lengths=False, state=False, opset=ox.DEFAULT_OPSET):
    """Compare onnxruntime with net.forward at each of SIZES; return the largest difference."""
    rnn = net.rnn if isinstance(net, lstmkit.Network) else net
    sess = _session(ox.to_onnx(net, lengths=lengths, initial_state=state, opset=opset))
    rng = np.random.default_rng(1)
    worst = 0.0
    for T, B in SIZES:
        x, feed, kw = _inputs(rnn, T, B, rng, lengths, state)
        want_y, (want_h, want_c) = net.forward(x, **kw)
        y, h, c = sess.run(["y", "h_n", "c_n"], feed)
        assert y.shape == want_y.shape and h.shape == want_h.shape and c.shape == want_c.shape
        for got, want in ((y, want_y), (h, want_h), (c, want_c)):
            np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
            worst = max(worst, float(np.abs(got - want).max()))
    return worst


# ------------------------------------------------------------------------------------------- round trips
STACKS = {
    "one layer": {},
    "bidirectional": {"bidirectional": True},
    "two layers": {"num_layers": 2},
    "peepholes": {"peepholes": True},
    "two layers, bidirectional, peepholes": {"num_layers": 2, "bidirectional": True, "peepholes": True},
    "batch_first": {"batch_first": True, "bidirectional": True},
    "vanilla (Greff)": {"variant": "vanilla"},
    "NP": {"variant": "NP"},
    "NIAF": {"variant": "NIAF"},
    "NOAF": {"variant": "NOAF"},
    "the paper's g and h": {"cell_input_activation": "g2", "cell_output_activation": "h1", "peepholes": True},
    "tanh gates": {"gate_activation": "tanh"},
    "initialisation and kernel options": {"forget_bias": 1.0, "init_range": 0.3, "kernel": "reference"},
}


@pytest.mark.parametrize("kw", STACKS.values(), ids=STACKS.keys())
def test_stacks_match_onnxruntime(kw):
    assert _round_trip(_net(**kw)) < TOL


@pytest.mark.parametrize("activation", [*ox.READOUT_ACTIVATIONS, "sigmoid", "linear"])
def test_every_readout_matches_onnxruntime(activation):
    assert _round_trip(_net(activation=activation)) < TOL


def test_readout_without_bias_and_input_shortcut():
    assert _round_trip(_net(bias=False, shortcut=True, activation="softmax", batch_first=True)) < TOL


def test_bare_stack_matches_onnxruntime():
    net = lstmkit.LSTM(3, 6, num_layers=2, bidirectional=True, peepholes=True, seed=4)
    net.flat[:] = np.random.default_rng(5).uniform(-1, 1, net.flat.size)
    assert _round_trip(net) < TOL


@pytest.mark.parametrize("kw", [{}, {"bidirectional": True, "num_layers": 2, "peepholes": True},
                                {"bidirectional": True, "batch_first": True}],
                         ids=["one layer", "two layers bidirectional", "batch_first"])
def test_sequence_lens_is_lstmkits_mask(kw):
    # padded steps: h = 0 (so the readout gives f(b)), states frozen at each sequence's end, and the
    # reverse direction reads from each sequence's own last step
    assert _round_trip(_net(activation="logistic", **kw), lengths=True) < TOL


def test_initial_state_with_lengths():
    assert _round_trip(_net(num_layers=2, bidirectional=True), lengths=True, state=True) < TOL


def test_oldest_supported_opset():
    assert _round_trip(_net(bidirectional=True, activation="softmax"), opset=ox.MIN_OPSET) < TOL


def test_graph_is_checked_and_documents_itself():
    net = _net(num_layers=2, bidirectional=True, batch_first=True, peepholes=True)
    m = ox.to_onnx(net, lengths=True, initial_state=True)
    onnx.checker.check_model(m, full_check=True)
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in [*m.graph.input, *m.graph.output]}
    assert dims == {"x": ["B", "T", 3], "sequence_lens": ["B"], "h0": [4, "B", 5], "c0": [4, "B", 5],
                    "y": ["B", "T", 4], "h_n": [4, "B", 5], "c_n": [4, "B", 5]}
    assert [n.op_type for n in m.graph.node].count("LSTM") == 2
    meta = {p.key: p.value for p in m.metadata_props}
    assert json.loads(meta["lstmkit.model"]) == json.loads(json.dumps(net.config()))


# ------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("cell, opts", [("lstm1997", {}), ("rnn", {})])
def test_other_cells_are_refused_by_name(cell, opts):
    net = lstmkit.LSTM(3, 4, cell=cell, **opts)
    with pytest.raises(ValueError, match=rf"cell '{cell}' cannot be exported to ONNX.*expected cell 'lstm'"):
        ox.to_onnx(net)


REFUSED_VARIANTS = {"NIG": "input_gate=False", "NFG": "forget_gate=False", "NOG": "output_gate=False",
                    "CIFG": "coupled=True", "FGR": "full_gate_recurrence=True"}


def test_every_variant_is_exported_or_refused():
    assert set(VARIANTS) - set(REFUSED_VARIANTS) == {"vanilla", "NP", "NIAF", "NOAF"}   # round-tripped above


@pytest.mark.parametrize("variant, named", REFUSED_VARIANTS.items())
def test_variants_onnx_cannot_express_are_refused(variant, named):
    with pytest.raises(ValueError, match=rf"cannot express .*{named} \(expected .*variant '{variant}' sets it"):
        ox.to_onnx(lstmkit.LSTM(3, 4, variant=variant))


def test_options_are_refused_together():
    net = lstmkit.LSTM(3, 4, coupled=True, full_gate_recurrence=True)
    with pytest.raises(ValueError, match=r"options coupled=True .*; full_gate_recurrence=True"):
        ox.to_onnx(net)


def test_an_option_the_export_does_not_know_is_refused_unless_default(monkeypatch):
    monkeypatch.setitem(LSTMCell.DEFAULTS, "spectral_norm", False)  # as if someone added it to the cell
    assert _round_trip(_net(spectral_norm=False)) < TOL
    with pytest.raises(ValueError, match=r"spectral_norm=True \(an option the ONNX export does not know; only "
                                         r"its default False"):
        ox.to_onnx(lstmkit.LSTM(3, 4, spectral_norm=True))
    monkeypatch.setitem(LSTMCell.DEFAULTS, "dropout", 0.0)
    ox.to_onnx(lstmkit.LSTM(3, 4, dropout=0))                      # 0 is the default 0.0
    with pytest.raises(ValueError, match=r"dropout=0.5"):
        ox.to_onnx(lstmkit.LSTM(3, 4, dropout=0.5))


@pytest.mark.parametrize("opts,why", [({"proj_size": 2}, "no projection"), ({"layer_norm": True}, "no layer norm"),
                                      ({"zoneout_cell": 0.1}, "zoneout's evaluation c"),
                                      ({"zoneout_hidden": 0.1}, "zoneout's evaluation h")])
def test_toolbox_options_that_change_the_equations_are_refused(opts, why):
    with pytest.raises(ValueError, match=why):
        ox.to_onnx(lstmkit.LSTM(3, 4, **opts))


def test_dropout_is_off_at_evaluation_so_a_net_trained_with_it_exports_exactly():
    net = _net(input_dropout=0.3, recurrent_dropout=0.3, weight_drop=0.2)
    assert net.rnn.cells[0].stochastic and not net.training
    assert _round_trip(net) < TOL


def test_an_activation_outside_the_whitelist_is_refused(monkeypatch):
    monkeypatch.delitem(ox.LSTM_ACTIVATIONS, "g2")                  # as if ONNX had no exact form of it
    with pytest.raises(ValueError, match=r"cell_input_activation='g2' \(expected one of logistic"):
        ox.to_onnx(lstmkit.LSTM(3, 4, cell_input_activation="g2"))
    monkeypatch.delitem(ox.READOUT_ACTIVATIONS, "h1")
    with pytest.raises(ValueError, match=r"readout's activation 'h1' has no ONNX form"):
        ox.to_onnx(_net(activation="h1"))


def test_whitelist_names_only_real_options():
    assert set(ox.EXPORTABLE) <= set(LSTMCell.DEFAULTS)
    assert all(ox.EXPORTABLE[k].test(v) for k, v in LSTMCell.DEFAULTS.items() if k in ox.EXPORTABLE)


@pytest.mark.parametrize("kw, exc, match", [
    ({"dtype": "float64"}, ValueError, r"dtype expects 'float32'"),
    ({"opset": 13}, ValueError, r"opset expects an integer in \[14, "),
    ({"opset": "17"}, ValueError, r"opset expects an integer"),
])
def test_bad_arguments_are_named(kw, exc, match):
    with pytest.raises(exc, match=match):
        ox.to_onnx(_net(), **kw)


def test_a_readout_alone_is_refused():
    with pytest.raises(TypeError, match=r"expected a lstmkit Network or LSTM, got Readout"):
        ox.to_onnx(lstmkit.Readout(3, 2))


# ------------------------------------------------------------------------------------------- files
def test_to_onnx_writes_only_new_paths_unless_overwrite(tmp_path):
    f = tmp_path / "m.onnx"
    ox.to_onnx(_net(), f)
    assert onnx.load(str(f)).graph.node
    f.write_bytes(b"keep")
    with pytest.raises(ValueError, match=r"already exists; pass overwrite=True"):
        ox.to_onnx(_net(), f)
    assert f.read_bytes() == b"keep"
    ox.to_onnx(_net(), f, overwrite=True)
    assert onnx.load(str(f)).graph.node
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]          # no temporary file left


def test_a_new_path_taken_meanwhile_is_left_alone(tmp_path, monkeypatch):
    from lstmkit import _atomic

    f, real = tmp_path / "m.onnx", _atomic.check_file_target

    def then_someone_writes(path, what=""):
        st = real(path, what)
        if not f.exists():
            f.write_bytes(b"theirs")                   # created between the check and the rename
        return st

    monkeypatch.setattr(_atomic, "check_file_target", then_someone_writes)
    with pytest.raises(ValueError, match=r"appeared while writing"):
        _atomic.atomic_write_bytes(f, b"ours", what="--onnx", replace=False)
    assert f.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onnx_run")
    data = sequences_npz(tmp / "d.npz")
    out = tmp / "run"
    assert main(["train", "classify", "--data", str(data), "--epochs", "2", "--out", str(out), "--no-progress",
                 "--quiet", "--hidden-size", "6", "--num-layers", "2", "--cell-option", "peepholes=true"]) == 0
    return out


def _check_against(net, path, lengths=False):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(3).normal(size=(9, 5, net.rnn.input_size))
    feed = {"x": x.astype(np.float32)}
    kw = {}
    if lengths:
        feed["sequence_lens"] = kw["lengths"] = np.array([9, 2, 5, 1, 8], dtype=np.int32)
    np.testing.assert_allclose(sess.run(["y"], feed)[0], net.forward(x.astype(net.dtype), **kw)[0],
                               rtol=0, atol=TOL)


def test_cli_exports_a_run_and_a_model(run_dir, tmp_path, capsys):
    f = tmp_path / "run.onnx"
    assert main(["export", str(run_dir), "--onnx", str(f), "--lengths"]) == 0
    assert str(f) in capsys.readouterr().out
    net = lstmkit.load(run_dir / "model")
    _check_against(net, f, lengths=True)
    meta = {p.key: p.value for p in onnx.load(str(f)).metadata_props}
    assert meta["lstmkit.task"] == "classify"
    assert json.loads(meta["lstmkit.data_state"])["classes"] == ["a", "b", "c"]
    g = tmp_path / "model.onnx"
    assert main(["export", str(run_dir / "model"), "--onnx", str(g)]) == 0
    _check_against(net, g)


def test_cli_overwrites_only_with_force(run_dir, tmp_path, capsys):
    f = tmp_path / "m.onnx"
    f.write_bytes(b"keep")
    assert main(["export", str(run_dir), "--onnx", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error: --onnx: ") and "without --force" in err and "Traceback" not in err
    assert f.read_bytes() == b"keep"
    os.chmod(f, 0o640)
    assert main(["export", str(run_dir), "--onnx", str(f), "--force"]) == 0
    assert onnx.load(str(f)).graph.node and (os.stat(f).st_mode & 0o777) == 0o640     # mode kept


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "directory", "fifo"])
def test_cli_never_replaces_what_is_not_a_regular_file(run_dir, tmp_path, capsys, kind):
    f, target = tmp_path / "m.onnx", tmp_path / "target"
    if kind == "symlink":
        target.write_bytes(b"keep")
        f.symlink_to(target)
    elif kind == "dangling symlink":
        f.symlink_to(target)
    elif kind == "directory":
        f.mkdir()
    else:
        os.mkfifo(f)
    for force in ([], ["--force"]):
        assert main(["export", str(run_dir), "--onnx", str(f), *force]) == 2
        err = capsys.readouterr().err
        assert err.startswith("lstmkit: error: --onnx: ") and "leaves this one as it is" in err
    assert f.is_symlink() == ("symlink" in kind) and f.is_dir() == (kind == "directory")
    if kind == "symlink":
        assert target.read_bytes() == b"keep"
    if kind == "dangling symlink":
        assert not target.exists()


def test_cli_refuses_a_cell_onnx_cannot_express(tmp_path, capsys):
    model = tmp_path / "m1997"
    lstmkit.Network(lstmkit.LSTM(2, 3, cell="lstm1997"), lstmkit.Readout(3, 1, "logistic")).save(model)
    f = tmp_path / "m.onnx"
    assert main(["export", str(model), "--onnx", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error: to_onnx: cell 'lstm1997' cannot be exported") and "Traceback" not in err
    assert not os.path.lexists(f)


def test_cli_names_a_source_that_is_neither_run_nor_model(tmp_path, capsys):
    (tmp_path / "other").mkdir()
    assert main(["export", str(tmp_path / "other"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "is neither a run directory" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_cli_checks_the_opset_first(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(tmp_path / "m.onnx"), "--opset", "9"]) == 2
    assert capsys.readouterr().err.startswith(f"lstmkit: error: --opset expects an integer in [{ox.MIN_OPSET}, ")


def test_cli_says_how_to_install_onnx(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)                   # import onnx raises ImportError
    assert main(["export", str(run_dir), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "pip install 'lstmkit[onnx]'" in capsys.readouterr().err
    assert not os.path.lexists(tmp_path / "m.onnx")
