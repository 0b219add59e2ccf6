"""Task generators against the paper's definitions (distributions, criteria, registry, docs).

Every statistical check uses a fixed seed, so the tests are deterministic; the tolerances are
several standard errors wide, so a correct generator passes for any seed and a wrong one fails.
"""
from __future__ import annotations

import doctest
import importlib
import re
import time
from collections import Counter, defaultdict

import numpy as np
import pytest
from scipy import stats

from lstmkit.tasks import TASKS, Batch, get_task
from lstmkit.tasks import reber as reber_mod
from lstmkit.tasks.base import Task

MODULES = ["base", "reber", "long_lag", "two_sequence", "adding", "multiplication",
           "temporal_order", "parity", "timing"]

# Small settings per task so that the generic tests run fast.
SMALL = {
    "embedded_reber": {},
    "long_lag_a": {"p": 10},
    "long_lag_b": {"p": 10},
    "long_lag_c": {"q": 20, "p": 10},
    "two_sequence_a": {"T": 30},
    "two_sequence_b": {"T": 30},
    "two_sequence_c": {"T": 30},
    "adding": {"T": 40},
    "multiplication": {"T": 40},
    "temporal_order_a": {},
    "temporal_order_b": {},
    "parity": {"min_length": 20, "max_length": 30},
    "msd": {"F": 5, "i_max": 2},
    "nmsd": {"F": 5},
    "spike_50_49": {"F": 9},
    "gts": {"F": 5, "periods": 3},
    "pfg": {"F": 6, "periods": 2},
}


def rng(seed=0):
    return np.random.default_rng(seed)


def chi2_p(counts, probs=None):
    counts = np.asarray(counts, dtype=float)
    if probs is None:
        probs = np.full(len(counts), 1 / len(counts))
    expected = counts.sum() * np.asarray(probs)
    return stats.chisquare(counts, expected).pvalue


def final(batch, arr):
    return arr[batch.lengths - 1, np.arange(batch.n)]


# ------------------------------------------------------------------------------- registry, contract
def test_registry_covers_every_experiment():
    assert set(SMALL) == set(TASKS)
    experiments = {t.experiment for t in TASKS.values()}
    assert experiments == {"1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "5", "6a", "6b", "", "gers2002"}
    for name, task in TASKS.items():
        assert task.name == name
        # every 1997 output unit is logistic; Gers et al. (2002) measure delays and waves with linear ones
        assert task.output_activation == "logistic" or (task.experiment == "gers2002" and name != "gts")


@pytest.mark.parametrize("name, settings, sizes", [
    ("embedded_reber", {}, (7, 7)),
    ("long_lag_a", {}, (101, 101)),
    ("long_lag_b", {"p": 4}, (5, 5)),
    ("long_lag_c", {}, (104, 2)),
    ("long_lag_c", {"q": 1000, "p": 50}, (54, 2)),
    ("two_sequence_a", {}, (1, 1)),
    ("two_sequence_b", {}, (1, 1)),
    ("two_sequence_c", {}, (1, 1)),
    ("adding", {}, (2, 1)),
    ("multiplication", {}, (2, 1)),
    ("temporal_order_a", {}, (8, 4)),
    ("temporal_order_b", {}, (8, 8)),
    ("parity", {}, (1, 1)),
])
def test_sizes_and_unit_names(name, settings, sizes):
    task = get_task(name, **settings)
    assert (task.input_size, task.output_size) == sizes
    assert len(task.input_names) == task.input_size and len(task.output_names) == task.output_size
    batch = task.sample(rng(), 3)
    assert batch.x.shape[2] == sizes[0] and batch.y.shape[2] == sizes[1]


def test_unit_orders_match_the_paper():
    assert get_task("embedded_reber").input_names == tuple("BTPSXVE")
    assert get_task("adding").input_names == ("value", "marker")
    assert get_task("temporal_order_a").input_names == tuple("EBabcdXY")
    assert get_task("temporal_order_a").output_names == tuple("QRSU")
    assert get_task("temporal_order_b").output_names == tuple("QRSUVABC")
    c = get_task("long_lag_c", p=3)
    assert c.input_names == ("a1", "a2", "a3", "e", "b", "x", "y") and c.output_names == ("x", "y")
    assert get_task("long_lag_a", p=3).input_names == ("a1", "a2", "x", "y")


def test_get_task_errors_and_settings():
    with pytest.raises(ValueError, match="unknown task 'addin'.*did you mean 'adding'"):
        get_task("addin")
    with pytest.raises(TypeError, match="unknown setting.*Tmax.*settings are: T"):
        get_task("adding", Tmax=5)
    with pytest.raises(TypeError, match="T: expected an int"):
        get_task("adding", T=100.0)
    with pytest.raises(ValueError, match="T: expected an int >= 12"):
        get_task("adding", T=5)
    with pytest.raises(ValueError, match="N: expected an int in 1 .. T"):
        get_task("two_sequence_a", T=10, N=11)
    with pytest.raises(ValueError, match="position_ranges"):
        get_task("temporal_order_a", position_ranges=((10, 60), (50, 70)))
    with pytest.raises(ValueError, match="target_steps"):
        get_task("long_lag_b", target_steps="every")
    task = get_task("parity", noise=1)                     # int accepted for a float setting
    assert task.noise == 1.0 and isinstance(task.noise, float)
    moved = get_task("temporal_order_a", position_ranges=[[5, 6], [40, 41]])
    assert moved.position_ranges == ((5, 6), (40, 41))
    assert get_task("adding", T=500).params() == {"T": 500}
    assert TASKS["adding"].T == 100                         # defaults untouched
    with pytest.raises(ValueError, match="n: expected a positive int"):
        TASKS["adding"].sample(rng(), 0)
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator"):
        TASKS["adding"].sample(0, 3)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_batch_layout(name):
    task = get_task(name, **SMALL[name])
    batch = task.sample(rng(1), 40)
    T_max, N = batch.x.shape[:2]
    assert N == 40 and T_max == batch.lengths.max()
    assert batch.x.dtype == batch.y.dtype == np.float64
    assert batch.lengths.dtype == np.int64 and batch.target_mask.dtype == bool
    pad = ~batch.step_mask
    assert not batch.x[pad].any() and not batch.y[pad].any()      # zero-padded
    assert not (batch.target_mask & pad).any()                     # targets only on real steps
    assert not batch.y[~batch.target_mask].any()                   # zeros where there is no target
    assert batch.target_mask[batch.lengths - 1, np.arange(N)].all()  # every task has a final target
    with pytest.raises(ValueError, match="outputs: expected shape"):
        task.correct(batch, batch.y[:-1])
    for text in (task.render(batch, 0), Task.render(task, batch, 0)):   # own and generic
        assert isinstance(text, str) and len(text.splitlines()) >= 2


@pytest.mark.parametrize("name", sorted(TASKS))
def test_determinism(name):
    task = get_task(name, **SMALL[name])
    a, b, c = task.sample(rng(7), 20), task.sample(rng(7), 20), task.sample(rng(8), 20)
    for field in ("x", "y", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.meta.keys() == b.meta.keys()
    for key in a.meta:
        np.testing.assert_array_equal(np.asarray(a.meta[key]), np.asarray(b.meta[key]))
    if name not in ("gts", "pfg"):           # the generators' targets are fixed: nothing random to differ
        assert a.x.shape != c.x.shape or not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_correct_on_perfect_and_flipped_outputs(name):
    task = get_task(name, **SMALL[name])
    batch = task.sample(rng(2), 200)
    ref = task.reference_outputs(batch)
    assert task.correct(batch, ref).all()
    assert np.allclose(task.error(batch, ref), 0.0) or name == "embedded_reber"
    # "Flipped": move every reference value by 0.5 towards the other end of [0, 1].
    flipped = np.where(ref < 0.5, ref + 0.5, ref - 0.5)
    assert not task.correct(batch, flipped).any()
    assert (task.error(batch, flipped) > 0).all()
    assert task.squared_error(batch, batch.y).max() == 0.0
    if name != "embedded_reber":   # ABS(beta) tasks: just inside / just outside the tolerance
        mask = task.success_mask(batch)[:, :, None]
        inside = np.where(mask, ref + 0.9 * task.tolerance, ref)
        outside = np.where(mask, ref - 1.1 * task.tolerance, ref)
        assert task.correct(batch, inside).all()
        assert not task.correct(batch, outside).any()
        np.testing.assert_allclose(task.error(batch, inside), 0.9 * task.tolerance)


# ------------------------------------------------------------------------------- docs
@pytest.mark.parametrize("module", MODULES + ["__init__"])
def test_docstrings_have_examples_that_run(module):
    mod = importlib.import_module("lstmkit.tasks" + ("" if module == "__init__" else "." + module))
    assert ">>>" in mod.__doc__
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("module", MODULES[1:])
def test_module_docstrings_state_choices(module):
    doc = importlib.import_module("lstmkit.tasks." + module).__doc__
    assert "Choices the" in doc and "Example" in doc


# ------------------------------------------------------------------------------- Exp 1, Reber
# An acceptor written independently of the generator: a regular expression for Fig. 3, the
# embedded form via a back-reference.
_L4 = "(?:XT*VP)*(?:S|XT*VV)"                         # from the state reached after ...X / ...P
_REBER = f"B(?:TS*X{_L4}|PT*V(?:P{_L4}|V))E"
_EMBEDDED = re.compile(f"B([TP]){_REBER}\\1E")


def test_regex_acceptor_sanity():
    for good in ["BTBTXSETE", "BPBPVVEPE", "BTBTSSXXTVVETE", "BPBPTVPXVPSEPE", "BTBPVPXTTVVETE"]:
        assert _EMBEDDED.fullmatch(good), good
    for bad in ["BTBTXSEPE", "BTBTXSET", "BTBTXXETE", "BTBPVSETE", "BTTXSETE"]:
        assert not _EMBEDDED.fullmatch(bad), bad


def test_reber_strings_are_grammatical_and_branch_evenly():
    task = get_task("embedded_reber")
    batch = task.sample(rng(3), 3000)
    strings = batch.meta["strings"]
    assert all(_EMBEDDED.fullmatch(s) for s in strings)
    assert min(map(len, strings)) == 9                              # BTBTXSETE / BPBTXSEPE ...
    assert Counter(s[1] for s in strings)["T"] / 3000 == pytest.approx(0.5, abs=0.04)
    assert Counter(s[3] for s in strings)["T"] / 3000 == pytest.approx(0.5, abs=0.04)
    # inputs are the string without its last symbol, targets without its first
    for i in range(50):
        s, L = strings[i], batch.lengths[i]
        assert L == len(s) - 1
        assert "".join("BTPSXVE"[k] for k in batch.x[:L, i].argmax(1)) == s[:-1]
        assert "".join("BTPSXVE"[k] for k in batch.y[:L, i].argmax(1)) == s[1:]
    assert batch.target_mask.sum() == batch.lengths.sum()          # a target at every step


def test_reber_legal_next_sets():
    enc = reber_mod.encode(["BTBTXSETE"])
    got = ["".join(c for c, ok in zip("BTPSXVE", row) if ok) for row in enc.meta["legal_next"][:, 0]]
    assert got == ["TP", "B", "TP", "SX", "SX", "E", "T", "E"]
    # Empirically: the legal set after a prefix equals the set of next symbols observed after it
    # in many sampled strings (for prefixes seen often enough to have shown both branches).
    task = get_task("embedded_reber")
    batch = task.sample(rng(4), 4000)
    observed, claimed, seen = defaultdict(set), {}, Counter()
    for i, s in enumerate(batch.meta["strings"]):
        for t in range(len(s) - 1):
            observed[s[: t + 1]].add(s[t + 1])
            seen[s[: t + 1]] += 1
            claimed.setdefault(s[: t + 1], frozenset(
                c for c, ok in zip("BTPSXVE", batch.meta["legal_next"][t, i]) if ok))
    assert all(observed[p] <= claimed[p] for p in observed)
    frequent = [p for p in observed if seen[p] >= 30]
    assert len(frequent) > 50
    assert all(observed[p] == claimed[p] for p in frequent)
    with pytest.raises(ValueError, match="not an embedded Reber string"):
        reber_mod.legal_next("BTBTXXETE")


def test_reber_criterion_and_reference():
    task = get_task("embedded_reber")
    batch = reber_mod.encode(["BTBTXSETE", "BPBPVVEPE"])
    ref = task.reference_outputs(batch)
    assert ref[0, 0].tolist() == [0, 0.5, 0.5, 0, 0, 0, 0]        # after B: T or P
    assert task.correct(batch, ref).all()
    assert not task.correct(batch, batch.y).any()                 # misses the other legal branch
    tie = ref.copy()
    tie[0, 0, 0] = 0.5                                             # illegal B as active as T, P
    assert task.correct(batch, tie).tolist() == [False, True]
    # Correct even far from the targets, as long as the legal units are the most active ones.
    scaled = 0.1 + 0.05 * ref
    assert task.correct(batch, scaled).all()
    # The step before last must name the remembered symbol: swapping T and P there fails.
    swapped = ref.copy()
    L = batch.lengths[0]
    swapped[L - 2, 0, [1, 2]] = swapped[L - 2, 0, [2, 1]]
    assert task.correct(batch, swapped).tolist() == [False, True]
    np.testing.assert_allclose(task.error(batch, batch.y), 0.0)


def test_reber_split():
    split = reber_mod.make_split(rng(5))
    assert len(split.train) == 256 and len(split.test) == 256
    assert not set(split.train) & set(split.test)
    assert all(_EMBEDDED.fullmatch(s) for s in split.train + split.test)
    assert split.train_batch().n == 256 and split.test_batch().n == 256
    again = get_task("embedded_reber").make_split(rng(5))
    assert again == split
    unique = reber_mod.make_split(rng(5), n_train=100, n_test=100, unique=True)
    assert len(set(unique.train)) == 100 and len(set(unique.test)) == 100
    exemplars = split.sample_train(rng(6), 500)
    assert set(exemplars.meta["strings"]) <= set(split.train)


# ------------------------------------------------------------------------------- Exp 2
def test_long_lag_a_sequences():
    task = get_task("long_lag_a", p=6)
    batch = task.sample(rng(), 400)
    sym = batch.meta["symbols"]                                    # x: 5, y: 6
    assert (batch.lengths == 6).all() and batch.target_mask.all()
    np.testing.assert_array_equal(sym[1:], np.arange(5)[:, None].repeat(400, 1))
    np.testing.assert_array_equal(sym[0], 5 + batch.meta["label"])
    np.testing.assert_array_equal(batch.y[-1].argmax(1), sym[0])   # last target = first symbol
    np.testing.assert_array_equal(batch.y[:-1].argmax(2), sym[1:])
    assert chi2_p(np.bincount(batch.meta["label"], minlength=2)) > 1e-3
    last_only = task.with_params(target_steps="last").sample(rng(), 5)
    assert last_only.target_mask.sum() == 5 and last_only.target_mask[-1].all()


def test_long_lag_b_sequences():
    p = 8
    task = get_task("long_lag_b", p=p)
    batch = task.sample(rng(), 3000)
    sym = batch.meta["symbols"]
    middle = sym[1:]
    assert middle.min() == 0 and middle.max() == p - 2             # a_1 .. a_{p-1} only
    assert chi2_p(np.bincount(middle.ravel(), minlength=p - 1)) > 1e-3
    np.testing.assert_array_equal(batch.y[-1].argmax(1), sym[0])
    ref = task.reference_outputs(batch)
    np.testing.assert_allclose(ref[0, :, : p - 1], 1 / (p - 1))
    np.testing.assert_array_equal(task.success_mask(batch)[-1], True)
    assert task.success_mask(batch)[:-1].sum() == 0


def test_long_lag_c_lengths_and_distractors():
    q, p, n = 30, 10, 20000
    task = get_task("long_lag_c", q=q, p=p)
    batch = task.sample(rng(9), n)
    seq_len = batch.meta["sequence_length"]
    np.testing.assert_array_equal(seq_len, batch.lengths + 1)
    assert seq_len.min() == q + 4                                   # the paper's minimum
    # Mean length: the generation rule gives q + 13 (E[k] = 9); the paper's q + 14 would need
    # E[k] = 10 (see the module docstring). Standard error of the mean here: 9.5/sqrt(n) = 0.07.
    assert seq_len.mean() == pytest.approx(q + 13, abs=0.3)
    assert batch.meta["k"].mean() == pytest.approx(9, abs=0.3)
    assert np.mean(batch.meta["k"] == 0) == pytest.approx(0.1, abs=0.01)
    sym = batch.meta["symbols"]
    cols = np.arange(n)
    assert (sym[0] == p + 1).all()                                  # b first
    np.testing.assert_array_equal(sym[1], p + 2 + batch.meta["label"])
    assert (sym[batch.lengths - 1, cols] == p).all()                # e last
    middle = np.where(np.arange(sym.shape[0])[:, None] < batch.lengths - 1, sym, -1)[2:]
    d = middle[middle >= 0]
    assert d.max() < p                                              # only distractors in between
    assert d.size == (batch.lengths - 3).sum()
    counts = np.bincount(d, minlength=p)
    assert counts.mean() / n == pytest.approx((q + 9) / p, rel=0.02)  # per distractor per sequence
    assert chi2_p(counts) > 1e-3
    np.testing.assert_array_equal(final(batch, batch.y).argmax(1), batch.meta["label"])
    assert batch.target_mask.sum() == n
    assert chi2_p(np.bincount(batch.meta["label"])) > 1e-3


# ------------------------------------------------------------------------------- Exp 3
def test_two_sequence_a():
    T, N, n = 100, 3, 6000
    task = get_task("two_sequence_a", T=T, N=N)
    batch = task.sample(rng(10), n)
    assert batch.lengths.min() == T and batch.lengths.max() == T + 10
    assert chi2_p(np.bincount(batch.lengths - T, minlength=11)) > 1e-3
    cls = batch.meta["cls"]
    assert chi2_p(np.bincount(cls, minlength=3)[1:]) > 1e-3          # classes 1 and 2 balanced
    sign = np.where(cls == 1, 1.0, -1.0)
    np.testing.assert_array_equal(batch.x[:N, :, 0], np.broadcast_to(sign, (N, n)))
    noise = batch.x[N:, :, 0][batch.step_mask[N:]]
    assert noise.mean() == pytest.approx(0.0, abs=0.01)
    assert noise.var() == pytest.approx(0.2, rel=0.02)
    np.testing.assert_array_equal(final(batch, batch.y)[:, 0], np.where(cls == 1, 1.0, 0.0))
    assert task.tolerance == 0.2


def test_two_sequence_b_noisy_information():
    task = get_task("two_sequence_b", T=50, N=3)
    batch = task.sample(rng(11), 6000)
    sign = np.where(batch.meta["cls"] == 1, 1.0, -1.0)
    dev = batch.x[:3, :, 0] - sign
    assert dev.mean() == pytest.approx(0.0, abs=0.02) and dev.var() == pytest.approx(0.2, rel=0.03)


def test_two_sequence_c_targets():
    task = get_task("two_sequence_c", T=50, N=1)
    batch = task.sample(rng(12), 8000)
    cls, clean = batch.meta["cls"], batch.meta["target_clean"]
    np.testing.assert_array_equal(clean, np.where(cls == 1, 0.2, 0.8))
    np.testing.assert_array_equal(batch.x[0, :, 0], np.where(cls == 1, 1.0, -1.0))  # noise-free info
    noise = final(batch, batch.y)[:, 0] - clean
    assert noise.mean() == pytest.approx(0.0, abs=0.01) and noise.var() == pytest.approx(0.1, rel=0.04)
    ref = task.reference_outputs(batch)
    np.testing.assert_array_equal(final(batch, ref)[:, 0], clean)
    # misclassified iff |output - noise-free target| > 0.1
    out = ref.copy()
    out[batch.lengths - 1, np.arange(batch.n), 0] += np.where(np.arange(batch.n) % 2, 0.0999, 0.1001)
    np.testing.assert_array_equal(task.correct(batch, out), np.arange(batch.n) % 2 == 1)
    np.testing.assert_allclose(task.error(batch, batch.y), np.abs(noise))


# ------------------------------------------------------------------------------- Exp 4, 5
@pytest.mark.parametrize("name", ["adding", "multiplication"])
def test_marked_pairs(name):
    T, n = 100, 20000
    task = get_task(name, T=T)
    batch = task.sample(rng(13), n)
    L, cols = batch.lengths, np.arange(n)
    assert L.min() == T and L.max() == T + T // 10
    assert chi2_p(np.bincount(L - T, minlength=11)) > 1e-3
    value, marker = batch.x[:, :, 0], batch.x[:, :, 1]
    valid = batch.step_mask
    # exactly two +1 markers: one of the first ten pairs, one of the first T/2 - 1 unmarked pairs
    assert ((marker == 1.0).sum(0) == 2).all()
    i1, i2 = batch.meta["i1"], batch.meta["i2"]
    assert (marker[i1, cols] == 1).all() and (marker[i2, cols] == 1).all() and (i1 != i2).all()
    assert i1.min() == 0 and i1.max() == 9
    assert chi2_p(np.bincount(i1, minlength=10)) > 1e-3
    assert i2.min() == 0 and i2.max() == T // 2 - 1
    # given i1, i2 is uniform on {0 .. T/2 - 1} minus {i1}: positions above and below i1 alike
    rank = i2 - (i2 > i1)                                           # 0 .. T/2 - 2
    assert chi2_p(np.bincount(rank, minlength=T // 2 - 1)) > 1e-3
    # -1 on the first (unless marked) and the last pair, 0 elsewhere
    first_marked = (i1 == 0) | (i2 == 0)
    np.testing.assert_array_equal(marker[0], np.where(first_marked, 1.0, -1.0))
    assert (marker[L - 1, cols] == -1).all()
    others = valid.copy()
    others[0] = False
    others[L - 1, cols] = False
    others[i1, cols] = False
    others[i2, cols] = False
    assert not marker[others].any()
    assert np.mean(i1 == 0) == pytest.approx(0.1, abs=0.01)
    # values, the first-pair rule, and the target formula recomputed from the inputs
    lo, hi = (-1.0, 1.0) if name == "adding" else (0.0, 1.0)
    v = value[valid]
    assert lo <= v.min() < lo + 0.01 and hi - 0.01 < v.max() <= hi
    assert v.mean() == pytest.approx((lo + hi) / 2, abs=0.01)
    rule = 0.0 if name == "adding" else 1.0
    assert (value[0, first_marked] == rule).all() and first_marked.sum() > 1000
    X1, X2 = value[i1, cols], value[i2, cols]
    np.testing.assert_array_equal(X1, batch.meta["X1"])
    np.testing.assert_array_equal(X2, batch.meta["X2"])
    target = final(batch, batch.y)[:, 0]
    expected = 0.5 + (X1 + X2) / 4 if name == "adding" else X1 * X2
    np.testing.assert_allclose(target, expected, rtol=0, atol=1e-15)
    assert 0.0 <= target.min() and target.max() <= 1.0
    assert batch.target_mask.sum() == n
    assert task.tolerance == 0.04


def test_adding_sampling_speed():
    task = get_task("adding", T=1000)
    task.sample(rng(), 10)
    times = []
    for seed in range(3):
        t0 = time.perf_counter()
        batch = task.sample(rng(seed), 2560)
        times.append(time.perf_counter() - t0)
    assert batch.x.shape[1:] == (2560, 2)
    assert np.median(times) < 1.0, times


# ------------------------------------------------------------------------------- Exp 6
@pytest.mark.parametrize("name, ranges", [
    ("temporal_order_a", [(10, 20), (50, 60)]),
    ("temporal_order_b", [(10, 20), (33, 43), (66, 76)]),
])
def test_temporal_order(name, ranges):
    n = 16000
    task = get_task(name)
    batch = task.sample(rng(14), n)
    L, cols = batch.lengths, np.arange(n)
    assert L.min() == 100 and L.max() == 110
    sym = batch.meta["symbols"]
    assert (sym[0] == 0).all() and (sym[L - 1, cols] == 1).all()   # E first, B last
    K = len(ranges)
    pos, rel = batch.meta["positions"], batch.meta["relevant"]
    for k, (lo, hi) in enumerate(ranges):
        one_based = pos[:, k] + 1
        assert one_based.min() == lo and one_based.max() == hi
        np.testing.assert_array_equal(sym[pos[:, k], cols], 6 + rel[:, k])
    xy = (sym == 6) | (sym == 7)
    assert (xy.sum(0) == K).all()                                   # X|Y only at t1, t2(, t3)
    filler = sym[1:][(sym[1:] >= 2) & (sym[1:] <= 5)]
    assert filler.size == (L - 2 - K).sum()                         # everything else is a..d
    assert chi2_p(np.bincount(filler - 2, minlength=4)) > 1e-3
    # class = the X/Y sequence in order, XX..X = first class; one-hot target at the end
    label = batch.meta["label"]
    np.testing.assert_array_equal(label, rel @ (2 ** np.arange(K - 1, -1, -1)))
    assert chi2_p(np.bincount(label, minlength=2 ** K)) > 1e-3
    np.testing.assert_array_equal(final(batch, batch.y), np.eye(2 ** K)[label])
    names = task.output_names
    order = ["".join("XY"[r] for r in rel[i]) for i in range(200)]
    table = {"XX": "Q", "XY": "R", "YX": "S", "YY": "U",
             "XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U",
             "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"}
    assert all(names[label[i]] == table[order[i]] for i in range(200))
    # every output must be within 0.3 (strictly): one unit at exactly 0.3 suffices to fail
    out = task.reference_outputs(batch)
    out[L - 1, cols, (label + 1) % 2 ** K] = 0.2999
    assert task.correct(batch, out).all()
    out[L - 1, cols, (label + 1) % 2 ** K] = 0.3
    assert not task.correct(batch, out).any()


# ------------------------------------------------------------------------------- parity
def test_parity():
    task = get_task("parity")
    batch = task.sample(rng(15), 2000)
    assert batch.lengths.min() == 500 and batch.lengths.max() == 600
    x = batch.x[:, :, 0]
    assert set(np.unique(x[batch.step_mask])) == {-1.0, 1.0}
    ones = (x == 1.0).sum(0)
    np.testing.assert_array_equal(ones, batch.meta["ones"])
    np.testing.assert_array_equal(final(batch, batch.y)[:, 0], ones % 2)
    assert chi2_p(np.bincount(ones % 2)) > 1e-3
    train, test = task.with_params(min_length=50, max_length=60).make_split(rng(16))
    for b in (train, test):
        assert b.n == 100 and np.bincount(b.meta["label"]).tolist() == [50, 50]
        np.testing.assert_array_equal((b.x[:, :, 0] == 1).sum(0) % 2, b.meta["label"])
    noisy = task.with_params(noise=0.2, min_length=50, max_length=60).sample(rng(17), 300)
    xv = noisy.x[:, :, 0][noisy.step_mask]
    assert 0.8 <= np.abs(xv).min() and np.abs(xv).max() <= 1.2
    np.testing.assert_array_equal((noisy.x[:, :, 0] > 0).sum(0) % 2, noisy.meta["label"])


def test_batch_validates_shapes():
    with pytest.raises(ValueError, match="leading"):
        Batch(x=np.zeros((3, 2, 1)), y=np.zeros((3, 1, 1)), target_mask=np.zeros((3, 2), bool),
              lengths=np.array([3, 3]))


def test_reber_encode_equals_the_step_by_step_encoding():
    # encode builds each distinct string's rows once (cached); the batch must be the one built per step
    from lstmkit.tasks import reber as R

    rng = np.random.default_rng(7)
    strings = [R.embedded_reber_string(rng) for _ in range(300)]
    b = R.encode(strings)
    T = max(len(s) for s in strings) - 1
    legal = np.zeros((T, len(strings), 7), dtype=bool)
    symbols = np.full((T, len(strings)), -1)
    for i, s in enumerate(strings):
        symbols[: len(s) - 1, i] = [R.SYMBOLS.index(c) for c in s[:-1]]
        for t, allowed in enumerate(R.legal_next(s)):
            for c in allowed:
                legal[t, i, R.SYMBOLS.index(c)] = True
    np.testing.assert_array_equal(b.meta["legal_next"], legal)
    np.testing.assert_array_equal(b.meta["symbols"], symbols)
    np.testing.assert_array_equal(b.x.argmax(axis=2)[b.step_mask], symbols[b.step_mask])
    assert b.meta["strings"] == strings


@pytest.mark.parametrize("name", sorted(SMALL))
def test_reference_at_reads_the_reference_outputs_rows(name):
    # abs_error reads the reference only at the success steps (reference_at); it must be those rows of
    # reference_outputs, also where a task skips building the whole array (the base class, 2b)
    task = get_task(name, **SMALL[name])
    b = task.sample(rng(3), 40)
    t, n = np.nonzero(task.success_mask(b))
    np.testing.assert_array_equal(task.reference_at(b, t, n), task.reference_outputs(b)[t, n])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_criteria_is_correct_and_error_together(name):
    task = get_task(name, **SMALL[name])
    b = task.sample(rng(4), 30)
    out = task.reference_outputs(b) + rng(5).normal(0, 0.3, b.y.shape)
    out[0, 0, 0] = np.nan                                   # NaN propagates the same way
    ok, err = task.criteria(b, out)
    np.testing.assert_array_equal(ok, task.correct(b, out))
    np.testing.assert_array_equal(err, task.error(b, out))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_abs_error_is_the_max_over_the_success_steps(name):
    # the definition, step by step: also for the one-pass path of dense success masks (2a, adding, ...)
    task = get_task(name, **SMALL[name])
    b = task.sample(rng(6), 25)
    out = task.reference_outputs(b) + rng(7).normal(0, 0.2, b.y.shape)
    ref, mask = task.reference_outputs(b), task.success_mask(b)
    want = np.array([max([np.abs(ref[t, i] - out[t, i]).max() for t in np.nonzero(mask[:, i])[0]], default=0.0)
                     for i in range(b.n)])
    np.testing.assert_array_equal(task.abs_error(b, out), want)
