"""Gers et al. (2000): continual streams, the state-decay cell, the stream protocol's exact stops, the study's rows."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lstmkit import LSTM, Network, Readout
from lstmkit.experiments import gers2000 as G
from lstmkit.experiments.study import COMMON_FIELDS, studies
from lstmkit.gradcheck import check_module
from lstmkit.learn import rtrl1997 as R
from lstmkit.learn.rtrl1997 import RTRL1997
from lstmkit.losses import half_sse
from lstmkit.tasks import reber
from lstmkit.tasks.continual import ContinualReber, ContinualTemporalOrder

ROWS = {r.id: r for r in G.ROWS}


# ------------------------------------------------------------------------------------------- streams
def test_continual_reber_is_strings_of_the_grammar_with_legal_next_targets():
    p = ContinualReber().stream(np.random.default_rng(5)).take(3000)
    text, starts = p.text(), np.nonzero(p.unit_start)[0].tolist() + [p.n]
    assert starts[0] == 0 and len(starts) > 200
    for a, b in zip(starts[:-1], starts[1:]):
        s = text[a:b]
        legal = reber.legal_next(s)              # raises unless s is an embedded Reber string
        for t, allowed in enumerate(legal):
            assert {reber.SYMBOLS[k] for k in np.nonzero(p.y[a + t])[0]} == set(allowed)
        assert s[-1] == "E" and np.nonzero(p.y[b - 1])[0].tolist() == [0]     # after E: the next B
    assert p.target_mask.all() and set(p.y.ravel().tolist()) == {0.0, 1.0}
    # both outer branches occur, and the branch is what the symbol before last must repeat
    assert {text[a + 1] for a in starts[:-1]} == {"T", "P"}


def test_a_stream_does_not_depend_on_how_it_is_taken():
    a = ContinualReber().stream(np.random.default_rng(1))
    b = ContinualReber().stream(np.random.default_rng(1))
    big = a.take(2000)
    small = [b.take(1) for _ in range(400)]
    cat = np.concatenate([q.symbols for q in small])
    n = min(big.n, cat.size)
    assert n >= 2000 and np.array_equal(big.symbols[:n], cat[:n]) and b.units == 400
    assert not np.array_equal(ContinualReber().stream(np.random.default_rng(2)).take(200).symbols[:200],
                              big.symbols[:200])


def test_cnto_stream_has_one_target_per_sequence_at_its_trigger():
    s = ContinualTemporalOrder(units=7).stream(np.random.default_rng(0))
    p = s.take(10_000)
    assert s.finished and s.units == 7 and p.labels.size == 7
    text = p.text()
    trig = np.nonzero(p.target_mask)[0]
    starts = np.nonzero(p.unit_start)[0]
    assert trig.size == 7 and all(text[t] == "B" for t in trig) and all(text[a] == "E" for a in starts)
    assert np.array_equal(starts[1:], trig[:-1] + 1)          # the next sequence starts right after B
    assert np.array_equal(p.y[trig].argmax(axis=1), p.labels) and np.all(p.y[trig].sum(axis=1) == 1)
    assert np.all(p.y[~p.target_mask] == 0) and np.all(100 <= np.diff(np.r_[starts, p.n])) 
    with pytest.raises(ValueError, match="all 7 units"):
        s.take(1)


# ------------------------------------------------------------------------------------------- the nets
def test_the_papers_cerg_net_has_424_weights_and_its_initialisation():
    net = ROWS["gers2000-forget"].build_network(np.random.default_rng(0))
    assert net.num_weights == 424
    p = net.rnn._cell_params[0].params
    assert p["b_in"].tolist() == [-0.5, -1.0, -1.5, -2.0] == p["b_out"].tolist()
    assert p["b_f"].tolist() == [0.5, 1.0, 1.5, 2.0] and "b_c" not in p
    assert p["R"].shape == (8 + 12, 8)                        # cells and gates read only the cells
    assert net.input_shortcut and net.readout.params["W"].shape == (7, 15)
    others = np.concatenate([p["W"].ravel(), p["R"].ravel(), net.readout.flat])
    assert np.abs(others).max() <= 0.2
    for rid in ("gers2000-reset", "gers2000-standard", "gers2000-decay"):
        assert ROWS[rid].build_network(np.random.default_rng(0)).num_weights == 360 == ROWS[rid].weights
    assert ROWS["gers2000-cnto-standard"].build_network(np.random.default_rng(0)).num_weights == 308   # 1997's 6b


def _decay_net(seed, **kw):
    rnn = LSTM(3, 4, cell="lstm1997", block_size=2, init_range=0.8, seed=seed, **kw)
    return Network(rnn, Readout(4 + 3, 2, "logistic", seed=seed + 1, init_range=0.8), input_shortcut=True)


@pytest.mark.parametrize("kw", [dict(state_decay=0.9), dict(state_decay=0.6, recurrent_sources="cells"),
                                dict(state_decay=0.9, peepholes=True, bias_cell=False),
                                dict(forget_gate=True, recurrent_sources="cells")])
def test_state_decay_rtrl1997_equals_truncated_bptt_and_bptt_equals_finite_differences(kw):
    rng = np.random.default_rng(3)
    net = _decay_net(4, **kw)
    T = 12
    x = rng.normal(size=(T, 3))
    x[rng.random((T, 3)) < 0.3] = 0.0
    y = rng.uniform(size=(T, 2))
    tm = rng.random(T) < 0.6
    g = R.gradient(net, x, y, tm)
    out, _ = net.forward(x[:, None, :])
    _, dout = half_sse(out, y[:, None, :], tm[:, None])
    net.backward(dout, truncated=True)
    assert np.abs(g - net.grad_flat).max() <= 1e-10 * max(1.0, np.abs(g).max()) and np.abs(g).max() > 0
    err = check_module(LSTM(3, 4, cell="lstm1997", block_size=2, init_range=0.8, seed=6, **kw),
                       rng.normal(size=(7, 2, 3)))
    assert err["weights"] < 1e-6 and err["inputs"] < 1e-6


def test_state_decay_decays_the_state_and_is_checked():
    rnn = LSTM(1, 1, cell="lstm1997", state_decay=0.5, init_range=0.1, seed=0)
    rnn.flat[...] = 0.0                                       # y_in = 1/2, g(0) = 0: s only decays
    s0 = (np.zeros((1, 1, 1)), np.full((1, 1, 1), 8.0), np.full((1, 1, 2), 0.5), np.zeros((1, 1, 0)))
    rnn.forward(np.zeros((3, 1, 1)), state=s0)
    assert rnn.internals()["l0.s"][:, 0, 0].tolist() == [4.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="forget gate is the learned"):
        LSTM(1, 1, cell="lstm1997", state_decay=0.9, forget_gate=True)
    with pytest.raises(ValueError, match="state_decay must be"):
        LSTM(1, 1, cell="lstm1997", state_decay=1.5)
    with pytest.raises(ValueError, match="recurrent_sources"):
        LSTM(1, 1, cell="lstm1997", recurrent_sources="gates")


# ------------------------------------------------------------------------------------------- exact stops
def _reference_streams(row, seed, n_streams):
    """Step by step, no chunks, no rewinds: train each stream until its first error."""
    model = row.build_network(G._rng(seed, G._INIT))
    lrn = RTRL1997(model, lr=row.lr)
    lengths = []
    for n in range(n_streams):
        stream = row.stream_task.stream(G._rng(seed, G._TRAIN, n))
        lrn.reset()
        t = done = 0
        while done < row.max_stream:
            p = stream.take(1)
            for i in range(p.n):
                lrn.lr = row.lr * row.lr_decay ** t
                reset = bool(row.external_reset and p.unit_start[i])
                out = lrn.train_sequence(None, p.y[i:i + 1], p.target_mask[i:i + 1],
                                         input_indices=p.symbols[i:i + 1], reset=reset).outputs
                t += 1
                if p.target_mask[i]:
                    if np.any(np.abs(out[0] - p.y[i]) >= row.tolerance):
                        break
                    done += 1
                    if done == row.max_stream:
                        break
            else:
                continue
            break
        lengths.append(done)
    return model.flat.copy(), lengths


@pytest.mark.parametrize("rid", ["gers2000-forget", "gers2000-forget-alpha", "gers2000-reset", "gers2000-decay"])
def test_a_stream_stops_exactly_at_its_first_error(rid):
    # a loose tolerance makes the streams long enough that errors fall inside chunks of 8 ... 32 steps
    row = dataclasses.replace(ROWS[rid], tolerance=0.7, chunk=32, max_stream=300)
    seed = row.seed(0, 11)
    ref_w, ref_lengths = _reference_streams(row, seed, 6)
    lrn = RTRL1997(row.build_network(G._rng(seed, G._INIT)), lr=row.lr)
    lengths = []
    for n in range(6):
        lrn.lr = row.lr
        lengths.append(G.run_stream(lrn, row, row.stream_task.stream(G._rng(seed, G._TRAIN, n)), row.max_stream,
                                    train=True)[0])
    assert lengths == ref_lengths and max(lengths) > 8          # some errors fell past the first chunk
    assert np.array_equal(lrn.model.flat, ref_w)              # the same bits


def _strip(rec):
    rec = dict(rec)
    rec.pop("wall_s")
    rec.pop("time_s")
    return rec


def test_a_trial_is_a_pure_function_of_row_k_seed_and_not_of_the_chunk():
    row = dataclasses.replace(ROWS["gers2000-forget"], max_sequences=60, tolerance=0.7, max_stream=400,
                              test_length=200)
    a, b = row.run_trial(1, 7), row.run_trial(1, 7)
    assert _strip(a) == _strip(b)
    assert _strip(dataclasses.replace(row, chunk=8).run_trial(1, 7)) == _strip(a)
    assert _strip(row.run_trial(2, 7)) != _strip(a)
    assert dataclasses.replace(row, chunk=8).fingerprint() == row.fingerprint()


def test_a_quick_trial_has_the_studys_fields_and_the_table_reads_them(tmp_path):
    study = studies()["gers2000"]
    assert [r.id for r in study.rows] == list(ROWS)
    recs = {}
    for rid in ("gers2000-standard", "gers2000-forget", "gers2000-cnto-forget"):
        assert ROWS[rid].effective(True).max_sequences == ROWS[rid].quick.max_sequences < ROWS[rid].max_sequences
        row = dataclasses.replace(ROWS[rid], max_sequences=150)
        rec = row.run_trial(0, 0)
        for key, types in COMMON_FIELDS + row.record_fields:
            assert isinstance(rec[key], types), key
        assert rec["sequences"] == row.max_sequences and not rec["perfect"] and rec["category"] == "rest"
        assert len(rec["test_lengths"]) == 10 and rec["test_mean_length"] == np.mean(rec["test_lengths"])
        recs[rid] = [rec]
    s = G.summarize(ROWS["gers2000-forget"], recs["gers2000-forget"] * 2)
    assert s["trials"] == 2 and s["rest_pct"] == 100.0 and s["perfect_streams"] is None
    entries = [{"id": rid, "setting": ROWS[rid].setting, "paper": ROWS[rid].paper.as_dict(),
                "summary": G.summarize(ROWS[rid], recs[rid])} for rid in recs]
    text = G.table(entries)
    assert "| gers2000-forget | LSTM with forget gates | 18 (18,889) / 0 (–) | 29 ⟨39,171⟩ / 0 ⟨–⟩ |" in text
    paths = G.plots(tmp_path, [ROWS[r] for r in recs], recs)
    assert [p.name for p in paths] == ["gers2000-cell-states.png"] and paths[0].stat().st_size > 10_000


def test_cell_states_grow_without_forget_gates_on_a_stream():
    """The paper's Fig. 5 effect at initialisation already: without a forget gate nothing pulls s back."""
    out = {}
    for rid in ("gers2000-standard", "gers2000-forget"):
        net = ROWS[rid].build_network(np.random.default_rng(0))
        s = G.cell_states(net, ROWS[rid], 3000)["s"]
        out[rid] = np.abs(s[-500:]).max()
    assert out["gers2000-standard"] > 5 * out["gers2000-forget"]
