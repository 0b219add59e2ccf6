"""The scikit-learn estimators: constructor stores, get_params/set_params (clone-compatible), fit returns
self, fitted attributes end in "_", predict/score shapes and meanings, determinism, clear errors, and
the lazy, optional import of scikit-learn. Its own estimator checks: test_sklearn_checks.py."""
from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import lstmkit
from lstmkit import LSTMClassifier, LSTMForecaster, LSTMRegressor

from _train_data import sequences

ESTIMATORS = [LSTMRegressor, LSTMForecaster, LSTMClassifier]
SMALL = {"hidden_size": 6, "epochs": 3}


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_constructor_only_stores(cls):
    sig = inspect.signature(cls.__init__)
    params = [p for p in sig.parameters if p != "self"]
    odd = {p: object() for p in params}                       # any value is stored as given, not validated
    est = cls(**odd)
    assert all(getattr(est, p) is odd[p] for p in params)
    assert set(cls().get_params()) == set(params)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(cls()))   # nothing fitted yet


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_set_params_and_clone(cls):
    est = cls(hidden_size=7, seed=3)
    assert est.get_params()["hidden_size"] == 7 and est.get_params()["seed"] == 3
    assert est.set_params(lr=0.01, epochs=5) is est and est.lr == 0.01 and est.epochs == 5
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        est.set_params(nope=1)
    assert "hidden_size=7" in repr(est) and "lr=0.01" in repr(est)


def _reg_data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(rng.integers(5, 12)), 2)) for _ in range(n)]
    y = np.array([s[:, 0].sum() + 0.5 * s[-1, 1] for s in X])
    return X, y


def test_regressor_fit_predict_score():
    X, y = _reg_data()
    reg = LSTMRegressor(**SMALL)
    assert reg.fit(X, y) is reg
    for attr in ("net_", "history_", "best_epoch_", "n_features_in_", "x_scaler_", "y_scaler_", "n_epochs_"):
        assert hasattr(reg, attr), attr
    assert reg.n_features_in_ == 2 and len(reg.history_) == reg.n_epochs_ == 3
    p = reg.predict(X)
    assert p.shape == (80,) and np.isfinite(p).all()
    r2 = reg.score(X, y)
    assert r2 == pytest.approx(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
    Y2 = np.column_stack([y, -y])
    assert LSTMRegressor(**SMALL).fit(np.stack([s[:5] for s in X]), Y2).predict(np.stack([s[:5] for s in X])).shape == (80, 2)


def test_regressor_learns_something():
    X, y = _reg_data(200)
    reg = LSTMRegressor(hidden_size=16, epochs=60, lr=1e-2, patience=0).fit(X, y)
    assert reg.score(X, y) > 0.5


def test_forecaster_fit_predict_score():
    t = np.arange(300)
    y = np.sin(2 * np.pi * t / 12) + 0.01 * t
    exog = np.cos(2 * np.pi * t / 12)[:, None]
    f = LSTMForecaster(window=12, horizon=3, **SMALL)
    assert f.fit(y[:250], exog[:250]) is f
    assert f.seasonal_period_ == 12 and f.n_features_in_ == 1
    assert set(f.baselines_) == {"persistence", "seasonal_naive"} and "val_rmse" in f.validation_
    assert f.predict().shape == (3,)
    assert np.array_equal(f.predict(), f.predict(y[:250], exog[:250]))   # default: after the training series
    assert np.isfinite(f.score(y[200:], exog[200:]))
    with pytest.raises(ValueError, match="exogenous"):
        f.predict(y[:250])
    with pytest.raises(ValueError, match="at least window"):
        f.predict(y[:5], exog[:5])


def test_forecaster_beats_persistence_on_a_clean_season():
    t = np.arange(400)
    y = 2 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.1, 400)
    f = LSTMForecaster(window=24, hidden_size=16, epochs=80, lr=5e-3, patience=15).fit(y)
    assert f.validation_["val_rmse"] < 0.5 * f.baselines_["persistence"]["rmse"]


def test_classifier_fit_predict_score_proba():
    xs, ys = sequences(90)
    labels = np.array([{"a": 10, "b": 20, "c": 30}[v] for v in ys])        # numbers as labels
    clf = LSTMClassifier(hidden_size=12, epochs=40, lr=1e-2, patience=0)
    assert clf.fit(xs, labels) is clf
    assert clf.classes_.tolist() == [10, 20, 30]
    proba = clf.predict_proba(xs)
    assert proba.shape == (90, 3) and np.allclose(proba.sum(axis=1), 1)
    pred = clf.predict(xs)
    assert set(pred.tolist()) <= {10, 20, 30}
    assert clf.score(xs, labels) == pytest.approx(np.mean(pred == labels)) and clf.score(xs, labels) > 0.6


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
def test_same_seed_same_model(cls):
    xs, ys = sequences(30)
    y = ys if cls is LSTMClassifier else np.arange(30.0)
    a, b = cls(**SMALL).fit(xs, y), cls(**SMALL).fit(xs, y)
    assert np.array_equal(a.net_.flat, b.net_.flat)
    c = cls(**SMALL, seed=1).fit(xs, y)
    assert not np.array_equal(a.net_.flat, c.net_.flat)


def test_errors_are_clear():
    xs, ys = sequences(12)
    for call in (lambda: LSTMClassifier().predict(xs), lambda: LSTMRegressor().predict(xs),
                 lambda: LSTMForecaster().predict(), lambda: LSTMForecaster().score(np.arange(40.0))):
        with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
            call()
    with pytest.raises(ValueError, match="hidden_size"):
        LSTMClassifier(hidden_size=0).fit(xs, ys)
    with pytest.raises(ValueError, match="12 labels"):
        LSTMClassifier(**SMALL).fit(xs, ys[:5])
    bad = [s.copy() for s in xs]
    bad[3][2, 1] = np.nan
    with pytest.raises(ValueError, match="sequence 3 has NaN/Inf at step 2, feature 1"):
        LSTMRegressor(**SMALL).fit(bad, np.arange(12.0))
    with pytest.raises(ValueError, match="different numbers of features"):
        LSTMRegressor(**SMALL).fit([np.zeros((3, 2)), np.zeros((3, 1))], [0.0, 1.0])
    with pytest.raises(ValueError, match="too short"):
        LSTMForecaster(window=50).fit(np.arange(40.0))
    with pytest.raises(ValueError, match="gap at row 7"):
        LSTMForecaster(window=5).fit(np.where(np.arange(40) == 7, np.nan, np.arange(40.0)))
    with pytest.raises(ValueError, match="rtrl1997"):
        LSTMForecaster(algorithm="rtrl1997").fit(np.arange(100.0))


@pytest.mark.parametrize("labels, words", [
    ([1, "one"] * 6, "one kind"),                 # np.asarray would make 1 the string "1"
    ([None] * 12, "NoneType"),
    ([(0, 1)] * 12, "one number or string per sequence"),
    ([0.0, float("nan")] * 6, "NaN"),
    (np.array([0.0, np.nan] * 6), "NaN"),
    (np.array([1j, 2j] * 6), "complex"),
])
def test_labels_of_mixed_or_unusable_kinds_are_refused(labels, words):
    xs, _ = sequences(12)
    with pytest.raises(ValueError, match=words):
        LSTMClassifier(**SMALL).fit(xs, labels)


def test_labels_given_as_a_list_of_strings_or_objects_come_back_as_given():
    xs, ys = sequences(30)
    for labels in (list(ys), np.array(list(ys), dtype=object), np.array([v.encode() for v in ys])):
        clf = LSTMClassifier(**SMALL).fit(xs, labels)
        assert set(clf.predict(xs).tolist()) <= set(ys) and clf.classes_.dtype.kind == "U"
    big = np.array([2**53 + (v == "a") for v in ys], dtype=object)   # ints a float would merge
    assert LSTMClassifier(**SMALL).fit(xs, big).classes_.tolist() == sorted(set(big.tolist()))


def test_exported_from_package():
    assert {"LSTMRegressor", "LSTMForecaster", "LSTMClassifier"} <= set(dir(lstmkit))
    assert lstmkit.LSTMClassifier is LSTMClassifier
    with pytest.raises(AttributeError, match="no attribute 'LSTMNope'"):
        lstmkit.LSTMNope


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_lstmkit_does_not_import_sklearn():
    r = _python("import lstmkit, sys; from lstmkit import *; print('sklearn' in sys.modules); "
                "lstmkit.LSTMRegressor; print('sklearn' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True"]             # loaded on first use of an estimator


def test_without_sklearn_the_estimators_say_how_to_install_it():
    r = _python("import sys; sys.modules['sklearn'] = None\n"            # as if not installed
                "import lstmkit\nfrom lstmkit import *\nprint(lstmkit.LSTM.__name__)\n"
                "try:\n    lstmkit.LSTMClassifier\nexcept ImportError as e:\n    print(e)")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "LSTM" and "pip install 'lstmkit[sklearn]'" in lines[1]


def test_a_fitted_estimator_keeps_no_copy_of_its_training_data():
    # predict goes through lstmkit.training.predictors (network + scaler), so pickling a fitted estimator
    # does not carry the training sequences along (it did, as the task object, before from_run)
    import pickle

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 40, 4))                          # 64,000 floats: 512 kB
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    clf = lstmkit.LSTMClassifier(hidden_size=4, epochs=1).fit(X, y)
    blob = pickle.dumps(clf)
    assert len(blob) < 60_000, len(blob)
    np.testing.assert_array_equal(pickle.loads(blob).predict_proba(X[:5]), clf.predict_proba(X[:5]))
    series = np.sin(np.arange(5000) / 7.0)
    fc = lstmkit.LSTMForecaster(window=8, hidden_size=4, epochs=1).fit(series)
    assert len(pickle.dumps(fc)) < 60_000 and fc.series_tail_.shape == (8, 1)
