"""Gers et al. (2002): the timing tasks, momentum in rtrl1997, and the study's rows, trials and report."""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from lstmkit import LSTM, Network, Readout
from lstmkit.experiments import gers2002 as G
from lstmkit.experiments.study import COMMON_FIELDS
from lstmkit.learn import rtrl1997 as R
from lstmkit.losses import half_sse
from lstmkit.tasks import TASKS, get_task
from lstmkit.tasks.timing import wave


def rng(seed=0):
    return np.random.default_rng(seed)


def row(name):
    return next(r for r in G.ROWS if r.id == f"gers2002-{name}")


# ------------------------------------------------------------------------------- generators
def test_registered():
    for name in ("msd", "nmsd", "spike_50_49", "gts", "pfg"):
        assert TASKS[name].experiment == "gers2002" and TASKS[name].input_size == TASKS[name].output_size == 1


@pytest.mark.parametrize("F, i_max", [(10, 1), (5, 2), (3, 0)])
def test_msd_spikes_at_T_n_with_target_I_n(F, i_max):
    task = get_task("msd", F=F, i_max=i_max, intervals=30)
    b = task.sample(rng(F), 50)
    for i in range(b.n):
        L = int(b.lengths[i])
        spikes = np.flatnonzero(b.x[:L, i, 0])
        times, delays = b.meta["spike_times"][i], b.meta["delays"][:, i]
        np.testing.assert_array_equal(spikes, times)
        # T(n) = T(n-1) + F + I(n), the reset counting as a spike at step -1
        np.testing.assert_array_equal(np.diff(np.concatenate([[-1], times])), F + delays)
        np.testing.assert_array_equal(np.flatnonzero(b.target_mask[:L, i]), times)   # targets only at spikes
        np.testing.assert_array_equal(b.y[times, i, 0], delays)                        # target I(n)
        assert L == times[-1] + 1                                                        # ends with a spike
    counts = np.bincount(b.meta["delays"].ravel(), minlength=i_max + 1)
    assert counts.size == i_max + 1 and counts.min() > 0.6 * counts.mean()              # uniform over 0..i_max


def test_nmsd_is_one_interval_opened_by_a_spike():
    b = get_task("nmsd", F=10, i_max=2).sample(rng(1), 200)
    for i in range(b.n):
        L = int(b.lengths[i])
        I = int(b.meta["delays"][0, i])
        assert L == 10 + I + 1
        np.testing.assert_array_equal(np.flatnonzero(b.x[:L, i, 0]), [0, L - 1])
        assert b.target_mask[:L, i].tolist() == [False] * (L - 1) + [True] and b.y[L - 1, i, 0] == I
    with pytest.raises(ValueError, match="intervals"):
        get_task("nmsd", intervals=2)


def test_spike_discrimination_is_49_or_50_steps():
    b = get_task("spike_50_49").sample(rng(2), 40)
    gaps = np.concatenate([np.diff(t) for t in b.meta["spike_times"]])
    assert set(gaps.tolist()) == {49, 50}
    for i in range(b.n):
        t = b.meta["spike_times"][i]
        np.testing.assert_array_equal(b.y[t[1:], i, 0], (np.diff(t) == 50).astype(float))   # 1 = 50 steps


def test_gts_spikes_every_F_steps_without_input():
    b = get_task("gts", F=7, periods=5).sample(rng(), 2)
    assert not b.x.any() and b.target_mask.all()
    np.testing.assert_array_equal(np.flatnonzero(b.y[:, 0, 0]), [6, 13, 20, 27, 34])


def test_pfg_waves():
    F = 12
    t = np.arange(3 * F)
    np.testing.assert_allclose(wave("cos", t, F), 0.5 * (1 - np.cos(2 * np.pi * t / F)), atol=1e-15)
    tri = wave("triangle", t, F)
    np.testing.assert_allclose(tri[:F + 1], np.r_[np.arange(7) / 6, np.arange(5, -1, -1) / 6])
    rect = wave("rectangle", t, F)
    assert rect[:F].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    c = wave("cos", t, F)
    off = np.abs(c - 0.5) > 1e-9                                   # away from the two crossings of 1/2
    np.testing.assert_array_equal(rect[off], (c[off] > 0.5).astype(float))
    for shape in ("cos", "triangle", "rectangle"):
        b = get_task("pfg", F=F, periods=3, shape=shape).sample(rng(), 1)
        assert not b.x.any() and b.target_mask.all()
        np.testing.assert_array_equal(b.y[:, 0, 0], wave(shape, t, F))
    with pytest.raises(ValueError, match="shape"):
        get_task("pfg", shape="saw")


# ------------------------------------------------------------------------------- momentum
def _tiny_net(seed):
    rnn = LSTM(1, 1, cell="lstm1997", forget_gate=True, peepholes=True, recurrent=False, g="identity",
               h="identity", init_range=0.5, seed=seed)
    return Network(rnn, Readout(1, 1, "identity", init_range=0.5, seed=seed + 1))


def _numpy_momentum_rtrl(p, xs, ys, tms, lr, mu):
    """The online rule with momentum for _tiny_net, in plain NumPy: one cell, peepholes, forget gate,
    g = h = identity, no recurrent weights; sources m = (x, 1). Weights change after every target step."""
    p = {k: v.astype(np.float64).copy() for k, v in p.items()}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))
    for x, y, tm in zip(xs, ys, tms):
        s_prev = 0.0
        A_c, A_in, A_f = np.zeros(2), np.zeros(2), np.zeros(2)     # ds/dw for sources (x, bias)
        A_pin = A_pf = 0.0
        for t in range(x.shape[0]):
            m = np.array([x[t, 0], 1.0])
            W = p["rnn.l0.W"][:, 0]                                     # rows: cell | in | f | out
            net_c = W[0] * m[0] + p["rnn.l0.b_c"][0]
            y_in = sig(W[1] * m[0] + p["rnn.l0.b_in"][0] + p["rnn.l0.p_in"][0] * s_prev)
            y_f = sig(W[2] * m[0] + p["rnn.l0.b_f"][0] + p["rnn.l0.p_f"][0] * s_prev)
            s = y_f * s_prev + y_in * net_c
            y_out = sig(W[3] * m[0] + p["rnn.l0.b_out"][0] + p["rnn.l0.p_out"][0] * s)
            y_c = y_out * s
            A_c = y_f * A_c + y_in * m
            A_in = y_f * A_in + net_c * y_in * (1 - y_in) * m
            A_f = y_f * A_f + s_prev * y_f * (1 - y_f) * m
            A_pin = y_f * A_pin + net_c * y_in * (1 - y_in) * s_prev
            A_pf = y_f * A_pf + s_prev * y_f * (1 - y_f) * s_prev
            if tm[t]:
                o = p["out.W"][0, 0] * y_c + p["out.b"][0]
                e = o - y[t, 0]
                dy = p["out.W"][0, 0] * e
                e_s = dy * y_out
                e_out = dy * s * y_out * (1 - y_out)
                g = {k: np.zeros_like(v) for k, v in p.items()}
                g["out.W"][0, 0], g["out.b"][0] = e * y_c, e
                g["rnn.l0.W"][:, 0] = [e_s * A_c[0], e_s * A_in[0], e_s * A_f[0], e_out * m[0]]
                g["rnn.l0.b_c"][0], g["rnn.l0.b_in"][0], g["rnn.l0.b_f"][0] = e_s * A_c[1], e_s * A_in[1], e_s * A_f[1]
                g["rnn.l0.b_out"][0] = e_out
                g["rnn.l0.p_in"][0], g["rnn.l0.p_f"][0], g["rnn.l0.p_out"][0] = e_s * A_pin, e_s * A_pf, e_out * s
                for k in p:                                             # v <- mu v - lr g, w <- w + v
                    vel[k] = mu * vel[k] - lr * g[k]
                    p[k] = p[k] + vel[k]
            s_prev = s
    return p


@pytest.mark.parametrize("mu", [0.0, 0.9])
def test_momentum_matches_a_numpy_reference(mu):
    net = _tiny_net(3)
    assert sorted(net.params) == sorted(["rnn.l0.W", "rnn.l0.b_c", "rnn.l0.b_in", "rnn.l0.b_f", "rnn.l0.b_out",
                                         "rnn.l0.p_in", "rnn.l0.p_f", "rnn.l0.p_out", "out.W", "out.b"])
    r = rng(4)
    xs = [(r.random((15, 1)) < 0.3) * r.normal(size=(15, 1)) for _ in range(4)]
    ys = [r.uniform(size=(15, 1)) for _ in range(4)]
    tms = [r.random(15) < 0.5 for _ in range(4)]
    ref = _numpy_momentum_rtrl(net.params, xs, ys, tms, lr=0.05, mu=mu)
    learner = R.RTRL1997(net, lr=0.05, momentum=mu)
    for x, y, tm in zip(xs, ys, tms):
        learner.train_sequence(x, y, tm)
    moved = max(np.abs(ref[k] - v).max() for k, v in _tiny_net(3).params.items())
    assert moved > 0.05                                       # the weights did change
    for k, v in net.params.items():
        np.testing.assert_allclose(v, ref[k], rtol=0, atol=1e-12, err_msg=k)


def test_momentum_in_the_sequence_update_and_the_velocity_persists():
    net = _tiny_net(5)
    r = rng(6)
    x, y = r.normal(size=(8, 1)), r.uniform(size=(8, 1))
    w, v = net.flat.copy(), np.zeros_like(net.flat)
    learner = R.RTRL1997(net, lr=0.1, update="sequence", momentum=0.5)
    for _ in range(3):
        g = R.gradient(_copy_with(net, w), x, y)              # frozen-weight gradient at the current weights
        v = 0.5 * v - 0.1 * g
        w = w + v
        learner.train_sequence(x, y)
        np.testing.assert_allclose(net.flat, w, rtol=0, atol=1e-13)
    np.testing.assert_allclose(learner.velocity, v, rtol=0, atol=1e-13)


def _copy_with(net, flat):
    other = _tiny_net(5)
    other.flat[...] = flat
    return other


def test_momentum_zero_gives_todays_bits():
    # The digest of this run was recorded with the rule as it was before momentum existed (commit 7bb5c9d);
    # momentum=0 must reproduce it bit for bit (on this kind of machine: x86-64, NumPy/Numba of the venv).
    def run(**kw):
        rnn = LSTM(1, 1, cell="lstm1997", forget_gate=True, peepholes=True, g="identity", h="identity",
                   init_range=0.1, in_gate_bias=[0.0], forget_gate_bias=[-2.0], out_gate_bias=[2.0], seed=3)
        n = Network(rnn, Readout(1, 1, "identity", init_range=0.1, seed=4))
        r = rng(5)
        learner = R.RTRL1997(n, lr=0.05, **kw)
        for k in range(6):
            x = (r.random((40, 1)) < 0.1).astype(float)
            y, tm = r.uniform(size=(40, 1)), r.random(40) < 0.5
            learner.train_sequence(x, y, tm, reset=k % 2 == 0)
        return n.flat.copy()

    default, zero = run(), run(momentum=0.0)
    assert default.tobytes() == zero.tobytes()
    assert hashlib.sha256(default.tobytes()).hexdigest() == \
        "412b9914207515d587c8f5b4ca507c25e9d66181574540a948cea9a325c57f38"
    assert run(momentum=0.5).tobytes() != default.tobytes()


@pytest.mark.parametrize("bad", [-0.1, 1.0, True, "0.9"])
def test_momentum_is_validated(bad):
    with pytest.raises(ValueError, match="momentum"):
        R.RTRL1997(_tiny_net(0), lr=0.1, momentum=bad)


# ------------------------------------------------------------------------------- the study's nets
def truncated_bptt(net, x, y, tm):
    out, _ = net.forward(x[:, None, :])
    _, dout = half_sse(out, y[:, None, :], tm[:, None])
    net.backward(dout, truncated=True)
    return net.grad_flat.copy()


@pytest.mark.parametrize("name", ["msd-peep", "nmsd-nopeep", "gts-peep", "gts-peep-noforget", "pfg-cos-peep"])
def test_rtrl1997_equals_truncated_bptt_on_the_study_nets(name):
    r0 = row(name)
    net = r0.build(rng(7))
    cell = net.rnn.cells[0]
    assert cell.options["h"] == "identity" and cell.options["peepholes"] == r0.peepholes
    net.flat[...] = rng(8).uniform(-1, 1, size=net.flat.shape)       # away from the small initial weights
    task = r0.make_task()
    b = task.with_params(**({"periods": 3} if task.name in ("gts", "pfg") else {})).sample(rng(9), 1)
    L = int(b.lengths[0])
    x, y, tm = b.x[:L, 0], b.y[:L, 0], b.target_mask[:L, 0]
    if not x.any():                                                   # GTS/PFG have no input: add some
        x = rng(10).normal(size=x.shape)
    ref = truncated_bptt(net, x, y, tm)
    g = R.gradient(net, x, y, tm)
    assert np.abs(ref).max() > 0
    assert np.abs(g - ref).max() <= 1e-10 * max(1.0, np.abs(ref).max())


def test_rows():
    ids = [r.id for r in G.ROWS]
    assert len(ids) == len(set(ids)) == 18
    for r in G.ROWS:
        assert r.experiment == "gers2002" and r.trials == 10 and r.quick.include
        assert r.notes and r.paper.as_dict()["claim"]
        n = r.build(rng())
        cell = n.rnn.cells[0]
        assert (cell.input_size, cell.hidden_size, n.readout.out_features) == (1, 1, 1)
        assert cell.options["g"] == cell.options["h"] == "identity"
    peep = {r.id for r in G.ROWS if r.peepholes}
    for task in ("msd", "nmsd", "spike5049", "gts", "pfg-cos", "pfg-triangle", "pfg-rectangle"):
        assert f"gers2002-{task}-peep" in peep and f"gers2002-{task}-nopeep" not in peep
    assert not row("gts-peep-noforget").forget_gate
    assert row("gts-peep").build(rng()).num_weights == 29 and row("gts-nopeep").build(rng()).num_weights == 26
    # only the cell output fed back: the paper's "about 17" (4 input, 4 bias, 4 recurrent, 3 peephole, 2 output)
    assert row("gts-peep-cellsonly").build(rng()).num_weights == 17 == row("pfg-cos-peep-cellsonly").build(rng()).num_weights
    q = row("gts-peep").effective(True)
    assert q.max_sequences == 20_000 and q.max_steps == 20_000 * G.QUICK_STEPS_PER_SEQUENCE
    assert row("gts-peep").effective(False) == row("gts-peep")
    assert row("gts-peep").fingerprint() != row("gts-nopeep").fingerprint()


# ------------------------------------------------------------------------------- trials
def _small(name, **kw):
    return dataclasses.replace(row(name), **{"max_sequences": 1500, **kw})


def _check_record(rec, r):
    for key, types in COMMON_FIELDS + r.record_fields:
        assert isinstance(rec[key], types), key
    assert isinstance(rec["seed"], int) and rec["seed"] == r.seed(rec["trial"])
    assert rec["sequences"] >= 0 and rec["steps"] > 0
    json.dumps(rec)


@pytest.mark.parametrize("name", ["msd-nopeep", "nmsd-peep", "pfg-triangle-peep"])
def test_same_seed_same_record(name):
    r = _small(name)
    a, b, c = r.run_trial(1), r.run_trial(1), r.run_trial(2)
    _check_record(a, r)
    strip = lambda rec: {k: v for k, v in rec.items() if k != "wall_s"}
    assert strip(a) == strip(b)
    assert strip(a) != strip(c)


def test_quick_trial_of_every_protocol_has_the_fields():
    for name in ("spike5049-peep", "nmsd-nopeep", "gts-peep-noforget"):
        r = row(name).effective(True)
        r = dataclasses.replace(r, max_sequences=min(r.max_sequences, 2000))
        rec = r.run_trial(0, keep_model=True)
        _check_record({k: v for k, v in rec.items() if k != "model"}, r)
        assert rec["model"].num_weights == len(rec["details"]["weights"])
        assert rec["details"]["stopped_by"] in ("rule", "budget")


def test_a_solved_gts_trial_really_generates_the_spike_train(tmp_path):
    r = row("gts-peep")
    rec = r.run_trial(0)                                   # solved after ~26,000 streams (about 1.5 s)
    assert rec["solved"] and rec["test_error_free"] == r.test_pieces
    y, out, x = G.generated(r, rec["details"]["weights"], periods=200)
    assert not x.any()
    assert np.abs(out - y).max() < 0.49                    # 200 periods free-running from the reset
    unsolved = dict(rec, solved=False, trial=1, sequences=50, test_error_free=3)
    s = G.summarize(r, [rec, unsolved])
    assert s["solved"] == 1 and s["trials"] == 2 and s["mean_sequences"] == rec["sequences"]
    entry = {"id": r.id, "experiment": r.experiment, "method": r.method, "setting": r.setting,
             "paper": r.paper.as_dict(), "trials": 2, "summary": s}
    text = G.table([entry])
    assert r.id in text and "1/2" in text and "peephole LSTM generates" in text
    paths = G.plots(tmp_path, G.ROWS, {r.id: [rec, unsolved]})
    assert [p.name for p in paths] == ["gers2002-gts.png"] and paths[0].stat().st_size > 5000
