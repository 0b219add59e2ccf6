"""The Greff et al. (2017) study: piano rolls, the split, the variants' training, the search, the statistics.

The variants' gradients are checked in test_cell_lstm.py; here only what this study adds.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lstmkit import losses
from lstmkit.data import pianoroll as P
from lstmkit.experiments import greff2017 as G
from lstmkit.experiments.study import COMMON_FIELDS

ROWS = {r.id: r for r in G.ROWS}


# ------------------------------------------------------------------------------------------- piano rolls
def test_notes_to_roll_grid_rule():
    # (P1): a note is on at the grid points in [onset, onset + duration); (P2): T = ceil(length / step)
    notes = [(60, 0.0, 2.0),      # frames 0, 1
             (64, 0.5, 1.0),      # covers grid point 1 only
             (67, 2.5, 0.25),     # covers no grid point: not in the roll
             (72, 3.0, 1.0),      # frame 3
             (20, 0.0, 1.0)]      # below MIDI 21: counted, not drawn
    roll, outside = P.notes_to_roll(notes, length=4.0, step=1.0)
    assert roll.shape == (4, 88) and outside == 1
    on = {t: sorted(np.nonzero(roll[t])[0] + P.LOW) for t in range(4)}
    assert on == {0: [60], 1: [60, 64], 2: [], 3: [72]}


def test_chorale_roll_known_notes(tmp_path):
    """bwv66.6 at quarter steps: the pickup beat is C#5/E4/A3/A3 (soprano's eighth B4 is between grid points)."""
    pytest.importorskip("music21")
    from music21 import corpus

    from lstmkit.data import chorales

    roll, why = chorales.score_roll(corpus.parse("bach/bwv66.6"))
    assert why == "" and roll.shape == (36, 88)
    keys = lambda t: sorted(int(k) + P.LOW for k in np.nonzero(roll[t])[0])   # noqa: E731
    assert keys(0) == [57, 64, 73]          # tenor and bass in unison on A3
    assert keys(1) == [54, 61, 66, 69]      # F#3 C#4 F#4 A4
    assert keys(2) == [56, 59, 64, 71]
    assert keys(3) == [57, 64, 73]
    assert roll.sum(axis=1).max() <= 4      # four voices: at most four keys at once


def test_cache_is_written_once_and_read_back(tmp_path):
    pytest.importorskip("music21")
    from lstmkit.data import chorales

    src = next(p for p in chorales.sources() if p.stem == "bwv66.6")
    first = P.cached("k", src, chorales.convert, cache=tmp_path)
    files = list((tmp_path / "k").iterdir())
    assert [f.name for f in files] == ["bwv66.6.mxl.npz"]
    again = P.cached("k", src, lambda p: pytest.fail("parsed again although cached"), cache=tmp_path)
    assert again[0][0] == first[0][0] and np.array_equal(again[0][1], first[0][1])
    # a cache directory that cannot be made (here: a file where it should be; root ignores chmod): no
    # error, the same rolls, and the file is left as it was
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    got = P.cached("k", src, chorales.convert, cache=blocker / "sub")
    assert np.array_equal(got[0][1], first[0][1]) and blocker.read_text() == "not a directory"
    # a damaged cache file is not read and not replaced: parsed again, left as it is
    bad = tmp_path / "k2" / "bwv66.6.mxl.npz"
    bad.parent.mkdir()
    bad.write_bytes(b"garbage")
    got = P.cached("k2", src, chorales.convert, cache=tmp_path)
    assert np.array_equal(got[0][1], first[0][1]) and bad.read_bytes() == b"garbage"


# ------------------------------------------------------------------------------------------- split
def test_split_is_fixed_by_its_seed_and_disjoint():
    names = [f"bwv{i}.{j}" for i in range(1, 120) for j in (1, 6)]
    a, b, c = P.assign(names, (0.6, 0.2, 0.2), 7), P.assign(names, (0.6, 0.2, 0.2), 7), P.assign(names, (0.6, 0.2, 0.2), 8)
    assert a == b and a != c
    assert P.assign(list(reversed(names)), (0.6, 0.2, 0.2), 7) == a       # the input order does not matter
    parts = {s: {n for n, w in a.items() if w == s} for s in ("train", "valid", "test")}
    assert set().union(*parts.values()) == set(names)
    assert sum(len(v) for v in parts.values()) == len(names)             # disjoint
    assert len(parts["train"]) == round(0.6 * len(names)) and len(parts["valid"]) == round(0.2 * len(names))


def test_build_split_drops_repeats_across_splits():
    rng = np.random.default_rng(0)
    rolls = {f"p{i}": rng.random((5, 88)) < 0.05 for i in range(30)}
    pieces = [(n, r, "") for n, r in rolls.items()]
    pieces.append(("copy", rolls["p0"].copy(), ""))                       # p0 again, under another name
    pieces.append(("bad", None, "no voices"))
    s = P.build_split("t", 1.0, pieces, (0.6, 0.2, 0.2), 3)
    kept = [n for part in ("train", "valid", "test") for n in s.names[part]]
    assert len(kept) == len(set(kept)) == 30
    assert s.dropped["bad"] == "no voices"
    assert len([n for n in ("p0", "copy") if n in s.dropped]) == 1
    seen = [r.tobytes() for part in ("train", "valid", "test") for r in s.part(part)]
    assert len(seen) == len(set(seen))


# ------------------------------------------------------------------------------------------- variants train
def _tiny(categorical: bool):
    rng = np.random.default_rng(1)
    rolls = []
    for T in (9, 12, 7):
        r = np.zeros((T, 88), dtype=bool)
        keys = rng.integers(30, 60, size=T)
        r[np.arange(T), keys] = True
        if not categorical:
            r[np.arange(T), keys + 4] = True
        rolls.append(r)
    return P.next_frame_pairs(rolls, categorical=categorical)


@pytest.mark.parametrize("variant", G.VARIANTS)
def test_every_variant_trains_and_its_loss_falls(variant):
    xs, ys = _tiny(categorical=False)
    row = dataclasses.replace(ROWS[f"greff-jsb-{variant}"], dtype="float64")
    net = row.build({"blocks": 6}, np.random.default_rng(0))
    x, y, lengths = G.pad(xs, ys, np.float64)
    mask = np.arange(len(x))[:, None] < lengths[None, :]
    from lstmkit.learn.optim import Momentum

    opt = Momentum(0.01, 0.9, nesterov=True)
    first = None
    for _ in range(30):
        out, _ = net.forward(x, lengths=lengths)
        loss, dout = losses.sigmoid_nll(out, y, mask)
        first = loss if first is None else first
        net.backward(dout)
        opt.step(net.flat, net.grad_flat)
    last = losses.sigmoid_nll(net.forward(x, lengths=lengths)[0], y, mask)[0]
    assert np.isfinite(last) and last < 0.7 * first


def test_logit_losses_match_their_probability_forms():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 2, 5))
    t = (rng.random(z.shape) < 0.3).astype(float)
    a, ga = losses.sigmoid_nll(z, t)
    p = 1 / (1 + np.exp(-z))
    b, gb = losses.binary_cross_entropy(p, t)
    assert a == pytest.approx(b, rel=1e-9)
    assert np.allclose(ga, gb * p * (1 - p))                            # the chain rule through sigma
    onehot = np.eye(5)[rng.integers(0, 5, size=(4, 2))]
    c, gc = losses.softmax_nll(z, onehot)
    q = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    assert c == pytest.approx(-np.sum(onehot * np.log(q)), rel=1e-12)
    assert np.allclose(gc, q - onehot)
    big = np.array([[[800.0, -800.0]]])                                 # saturated: finite, exact
    assert losses.sigmoid_nll(big, np.array([[[1.0, 0.0]]]))[0] == pytest.approx(0.0, abs=1e-300)


# ------------------------------------------------------------------------------------------- the search
def test_hyperparameter_draw_ranges_and_seed():
    space = G.Space()
    draws = [space.draw(np.random.default_rng(s)) for s in range(3000)]
    H = np.array([d["blocks"] for d in draws])
    lr = np.array([d["lr"] for d in draws])
    mu = np.array([d["momentum"] for d in draws])
    s = np.array([d["noise"] for d in draws])
    assert H.min() >= 20 and H.max() <= 200 and lr.min() >= 1e-6 and lr.max() <= 1e-2
    assert mu.min() >= 0.0 and mu.max() <= 0.99 + 1e-12 and s.min() >= 0 and s.max() <= 1
    # log-uniform: the median is the geometric mean of the ends, each decade equally likely
    assert np.median(lr) == pytest.approx(1e-4, rel=0.15)
    assert np.median(H) == pytest.approx(math.sqrt(20 * 200), rel=0.08)
    assert np.median(1 - mu) == pytest.approx(0.1, rel=0.15)
    assert abs(np.mean(np.log10(lr) < -5) - 0.25) < 0.03
    assert abs(np.median(s) - 0.5) < 0.05
    assert space.draw(np.random.default_rng(5)) == space.draw(np.random.default_rng(5))
    r = ROWS["greff-jsb-vanilla"]
    assert r.seed(0) == r.seed(0) and r.seed(0) != r.seed(1) and r.seed(0) != ROWS["greff-jsb-NP"].seed(0)


# ------------------------------------------------------------------------------------------- statistics
def test_welch_matches_scipy_and_the_formula():
    from scipy import stats

    a = [8.61, 8.73, 8.59, 8.90, 8.66, 8.70]
    b = [8.80, 8.95, 9.10, 8.77, 9.02]
    w = G.welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert w["t"] == pytest.approx(ref.statistic, rel=1e-12) and w["p"] == pytest.approx(ref.pvalue, rel=1e-12)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))   # Welch-Satterthwaite
    assert w["t"] == pytest.approx(t, rel=1e-12)
    assert w["p"] == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)
    assert w["diff"] == pytest.approx(np.mean(a) - np.mean(b))
    assert math.isnan(G.welch([1.0], b)["p"])


def test_importance_finds_the_hyperparameter_that_matters():
    rng = np.random.default_rng(0)
    recs = []
    for _ in range(120):
        h = G.Space().draw(rng)
        recs.append({"solved": True, "hyper": h, "test_nll": 3 * (math.log10(h["lr"]) + 4) ** 2 + rng.normal(0, 0.1)})
    imp = G.importance(recs)
    assert imp["lr"] > 0.8 and max(imp["blocks"], imp["momentum"], imp["noise"]) < 0.1


# ------------------------------------------------------------------------------------------- a trial
@pytest.fixture(scope="module")
def tiny_row(tmp_path_factory):
    """CIFG on 3 chorales per split, 2 epochs, 20-24 blocks; the rolls cached in a temporary directory
    (the tests leave the user's cache alone), parsed once for the module."""
    pytest.importorskip("music21")
    mp = pytest.MonkeyPatch()
    mp.setenv("LSTMKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
    row = ROWS["greff-jsb-CIFG"]
    row = dataclasses.replace(row, limit=3, max_epochs=2, space=dataclasses.replace(row.space, blocks=(20, 24)))
    G._arrays.cache_clear()
    G._split.cache_clear()
    G._arrays(row.task, row.limit)                    # parse while the temporary cache is set
    yield row
    mp.undo()


def test_quick_trial_has_the_study_fields(tiny_row):
    rec = tiny_row.run_trial(0)
    for key, kinds in COMMON_FIELDS + tiny_row.record_fields + (("seed", (int,)),):
        assert isinstance(rec[key], kinds), key
    assert rec["seed"] == tiny_row.seed(0) and 1 <= rec["epochs"] <= 2 == tiny_row.max_epochs
    assert rec["sequences"] == rec["epochs"] and set(rec["hyper"]) == {"blocks", "lr", "momentum", "noise"}
    assert 20 <= rec["hyper"]["blocks"] <= 24 and rec["solved"] == (not rec["diverged"])
    assert math.isfinite(rec["test_nll"]) and rec["valid_nll"] <= rec["details"]["valid_curve"][0]
    s = G.summarize(tiny_row, [rec])
    assert s["trials"] == 1 and "solved" in s
    assert "CIFG" in G.table([{"id": tiny_row.id, "experiment": "greff", "method": "CIFG", "setting": "",
                               "paper": tiny_row.paper.as_dict(), "trials": [rec], "summary": s}])


def test_same_seed_same_record(tiny_row):
    a, b = tiny_row.run_trial(1, base_seed=3), tiny_row.run_trial(1, base_seed=3)
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b
    assert tiny_row.run_trial(1, base_seed=4)["hyper"] != a["hyper"]


def test_quick_mode_caps_epochs_and_data():
    r = ROWS["greff-jsb-vanilla"]
    q = r.effective(True)
    assert q.max_epochs == r.quick.max_sequences and q.limit == r.quick_pieces
    assert r.effective(False) is r and q.fingerprint() != r.fingerprint()
    assert {row.method for row in G.ROWS} == set(G.VARIANTS) and len(G.ROWS) == 2 * len(G.VARIANTS)
