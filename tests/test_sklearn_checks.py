"""scikit-learn's own estimator checks on the three estimators, and the tools people use them with
(cross_val_score, Pipeline, GridSearchCV, clone).

Every check that is not run, or is expected to fail, is listed below with its reason. The reasons come
from two decisions of the library, not from the checks being inconvenient:

- a 2-D X is (n, T): n univariate sequences of T steps, not n rows of T features (the library's input
  forms: (n, T, F), (n, T), lists of (T_i, F)). So ``n_features_in_`` is 1 for it, and a 2-D X of another
  width is a batch of sequences of another length, which predict accepts;
- LSTMForecaster forecasts a series: its X (in scikit-learn's terms) is the 1-D series and its y the
  optional exogenous columns, so scikit-learn's data checks, which all fit on a 2-D X, do not apply.

What the expected failures would have tested is tested here in the library's terms.
"""
from __future__ import annotations

import inspect
import pickle
from functools import partial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import estimator_checks, shuffle
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

from lstmkit import LSTMClassifier, LSTMForecaster, LSTMRegressor

from _train_data import sequences

# Small, but large enough to pass the checks' score thresholds genuinely. sklearn's regression set read
# as 10-step sequences is a memory task (the target is step 4's value, read out 5 steps later):
# hidden_size 4-8 reach its R^2 > 0.5 on about half the seeds, 16 with 100 full epochs on 8 of 8.
REGRESSOR = LSTMRegressor(hidden_size=16, lr=1e-2, epochs=100, batch_size=64, patience=0, val_fraction=0.1)
CLASSIFIER = LSTMClassifier(hidden_size=8, lr=1e-2, epochs=20)       # blobs: accuracy 0.93-0.98 on 8 seeds
FORECASTER = LSTMForecaster(window=8, hidden_size=4, epochs=2)

SEQUENCES_2D = {
    "check_n_features_in":
        "a 2-D X is (n, T) univariate sequences: n_features_in_ is 1 (features per step), not T "
        "(test_n_features_in_counts_features_per_step)",
    "check_n_features_in_after_fitting":
        "X[:, [1]] is sequences of 1 step, which predict accepts; the feature count is checked for (n, T, F) "
        "and lists, in scikit-learn's words (test_feature_count_is_checked_in_sklearns_words)",
    "check_estimators_empty_data_messages":
        "(12, 0) is 12 sequences of 0 steps: refused with a ValueError that says so, not with "
        "'0 feature(s)' (test_empty_data_is_refused)",
}
EXPECTED_FAILED = {
    "LSTMRegressor": SEQUENCES_2D,
    "LSTMClassifier": {
        **SEQUENCES_2D,
        "check_classifiers_train":
            "wants predict(X.T) to raise, but X.T is valid: fewer, longer sequences; its other parts run in "
            "test_classifier_passes_the_rest_of_check_classifiers_train",
    },
    "LSTMForecaster": {},            # only check_estimator_cloneable is generated for it (its input is 1-D)
}

# xfail_strict (scikit-learn >= 1.8): a check that starts to pass must leave the list
_STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {}


@parametrize_with_checks([REGRESSOR, CLASSIFIER, FORECASTER],
                         expected_failed_checks=lambda est: EXPECTED_FAILED[type(est).__name__], **_STRICT)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- the forecaster
# The checks scikit-learn runs on an estimator of this kind that takes a 2-D X. Those that need no
# data run on the forecaster; the others fit on a 2-D X as the series.
FORECASTER_RUNS = {"check_estimator_tags_renamed", "check_valid_tag_types", "check_estimator_repr",
                   "check_no_attributes_set_in_init", "check_estimators_unfitted",
                   "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order",
                   "check_parameters_default_constructible", "check_get_params_invariance", "check_set_params"}
_SERIES = "fits on a 2-D X, which would be the forecaster's series (a 1-D array)"
FORECASTER_SKIPS = {
    "check_fit_score_takes_y": "fit(y, X)/score(y, X) take the series first and the exogenous X second, as "
                               "forecasting libraries do; scikit-learn's tools pass both positionally",
    "check_array_api_input": _SERIES,
    "check_complex_data": _SERIES,
    "check_dict_unchanged": _SERIES,
    "check_dont_overwrite_parameters": _SERIES + " (test_forecaster_as_the_checks_would_have_it)",
    "check_dtype_object": _SERIES,
    "check_estimator_sparse_array": _SERIES,
    "check_estimator_sparse_matrix": _SERIES,
    "check_estimator_sparse_tag": _SERIES,
    "check_estimators_dtypes": _SERIES,
    "check_estimators_empty_data_messages": _SERIES,
    "check_estimators_fit_returns_self": _SERIES + " (test_forecaster_as_the_checks_would_have_it)",
    "check_estimators_nan_inf": _SERIES + " (NaN/Inf: test_estimators.py::test_errors_are_clear)",
    "check_estimators_overwrite_params": _SERIES + " (test_forecaster_as_the_checks_would_have_it)",
    "check_estimators_pickle": _SERIES + " (test_forecaster_as_the_checks_would_have_it)",
    "check_f_contiguous_array_estimator": _SERIES,
    "check_fit1d": _SERIES,
    "check_fit2d_1feature": _SERIES,
    "check_fit2d_1sample": _SERIES,
    "check_fit2d_predict1d": _SERIES,
    "check_fit_check_is_fitted": _SERIES + " (test_forecaster_as_the_checks_would_have_it)",
    "check_fit_idempotent": _SERIES + " (test_forecaster_as_the_checks_would_have_it)",
    "check_methods_sample_order_invariance": _SERIES + "; reordering a series changes it",
    "check_methods_subset_invariance": _SERIES + "; predict forecasts after a whole series",
    "check_n_features_in": _SERIES,
    "check_n_features_in_after_fitting": _SERIES,
    "check_pipeline_consistency": _SERIES,
    "check_positive_only_tag_during_fit": _SERIES,
    "check_readonly_memmap_input": _SERIES,
}


def _check_name(check) -> str:
    while isinstance(check, partial):
        check = check.func
    return getattr(check, "__wrapped__", check).__name__


def _checks_for_2d_input() -> list[str]:
    class Tabular(LSTMForecaster):          # the same estimator, tagged as taking a 2-D X: what would run
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.one_d_array, tags.input_tags.two_d_array = False, True
            return tags

    names = {_check_name(check) for _, check in estimator_checks_generator(Tabular())}
    return sorted(names - {"check_estimator_cloneable"})       # that one ran above


@pytest.mark.parametrize("name", _checks_for_2d_input())
def test_forecaster_checks(name):
    if name in FORECASTER_SKIPS:
        pytest.skip(f"{name}: {FORECASTER_SKIPS[name]}")
    assert name in FORECASTER_RUNS, f"{name} is new in this scikit-learn: decide whether it applies to LSTMForecaster"
    getattr(estimator_checks, name)("LSTMForecaster", clone(FORECASTER))


def _series(n=160, exog=False):
    t = np.arange(n)
    y = np.sin(2 * np.pi * t / 12) + 0.01 * t
    return (y, np.cos(2 * np.pi * t / 12)[:, None]) if exog else y


def test_forecaster_as_the_checks_would_have_it():
    y, X = _series(exog=True)
    f = clone(FORECASTER)
    params = f.get_params()
    with pytest.raises(NotFittedError):
        f.predict()
    with pytest.raises(NotFittedError):
        f.score(y, X)
    assert f.fit(y, X) is f
    assert f.get_params() == params                                  # fit leaves the parameters alone
    assert not {k for k in vars(f) if not k.endswith("_") and not k.startswith("_")} - set(params)
    p = f.predict(y, X)
    assert np.array_equal(clone(FORECASTER).fit(y, X).predict(y, X), p)          # idempotent, deterministic
    assert np.array_equal(pickle.loads(pickle.dumps(f)).predict(y, X), p)


# ---------------------------------------------------------------- what the expected failures stand for
def _reg_data(n=60, T=6, F=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F))
    return X, X[:, :, 0].sum(axis=1) + 0.5 * X[:, -1, 1]


def test_n_features_in_counts_features_per_step():
    X, y = _reg_data()
    small = {"hidden_size": 4, "epochs": 2}
    assert LSTMRegressor(**small).fit(X, y).n_features_in_ == 2
    assert LSTMRegressor(**small).fit(X[:, :, 0], y).n_features_in_ == 1                  # (n, T)
    varied = [np.zeros((3 + i % 4, 3)) + i for i in range(20)]
    assert LSTMClassifier(**small).fit(varied, [i % 2 for i in range(20)]).n_features_in_ == 3
    reg = LSTMRegressor(**small).fit(X[:, :, 0], y)
    assert reg.predict(X[:10, :4, 0]).shape == (10,)               # shorter sequences, same feature count


def test_feature_count_is_checked_in_sklearns_words():
    X, y = _reg_data()
    reg = LSTMRegressor(hidden_size=4, epochs=2).fit(X, y)
    clf = LSTMClassifier(hidden_size=4, epochs=2).fit(X, y > np.median(y))
    msg = "X has 1 features, but {} is expecting 2 features as input"
    for est, methods in ((reg, ("predict", "score")), (clf, ("predict", "predict_proba", "score"))):
        for method in methods:
            call = getattr(est, method)
            with pytest.raises(ValueError, match=msg.format(type(est).__name__)):
                call(X[:, :, :1], y) if method == "score" else call(X[:, :, :1])
            with pytest.raises(ValueError, match=msg.format(type(est).__name__)):
                call([s[:, :1] for s in X], y) if method == "score" else call([s[:, :1] for s in X])


def test_empty_data_is_refused():
    for est in (LSTMRegressor(), LSTMClassifier()):
        with pytest.raises(ValueError, match="got no sequences"):
            est.fit(np.empty((0, 3)), [])
        with pytest.raises(ValueError, match=r"sequence 0 has shape \(0, 1\); expected \(T_i, F\) with T_i >= 1 steps"):
            est.fit(np.empty((12, 0)), [0, 1] * 6)
        with pytest.raises(ValueError, match="F >= 1 features"):
            est.fit(np.empty((12, 5, 0)), [0, 1] * 6)


def test_classifier_passes_the_rest_of_check_classifiers_train():
    # check_classifiers_train's data and thresholds, without its predict(X.T)
    X_m, y_m = make_blobs(n_samples=300, random_state=0)
    X_m, y_m = shuffle(X_m, y_m, random_state=7)
    X_m = StandardScaler().fit_transform(X_m)
    for X, y in ((X_m[y_m != 2], y_m[y_m != 2]), (X_m, y_m)):
        clf = clone(CLASSIFIER)
        with pytest.raises(ValueError):
            clf.fit(X, y[:-1])
        pred = clf.fit(X.tolist(), y.tolist()).predict(X)
        assert np.array_equal(clf.fit(X, y).predict(X), pred)
        assert pred.shape == y.shape and np.mean(pred == y) > 0.83
        proba = clf.predict_proba(X)
        assert proba.shape == (len(y), np.unique(y).size)
        assert np.array_equal(proba.argmax(axis=1), pred) and np.allclose(proba.sum(axis=1), 1)


# ---------------------------------------------------------------- in scikit-learn's tools
SMALL = {"hidden_size": 4, "epochs": 3, "lr": 1e-2}


def _clf_data(n=60):
    xs, ys = sequences(n)
    return xs, np.array(ys)


def test_regressor_in_cross_val_score_with_sequences_of_different_lengths():
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(int(rng.integers(4, 9)), 2)) for _ in range(45)]
    y = np.array([s[:, 0].sum() for s in X])
    est = LSTMRegressor(**SMALL)
    scores = cross_val_score(est, X, y, cv=3)
    manual = [clone(est).fit([X[i] for i in tr], y[tr]).score([X[i] for i in te], y[te])
              for tr, te in KFold(3).split(X)]
    assert np.allclose(scores, manual) and np.isfinite(scores).all()


def test_classifier_in_cross_val_score_is_stratified():
    xs, ys = _clf_data()
    est = LSTMClassifier(**SMALL)
    scores = cross_val_score(est, xs, ys, cv=3)
    manual = [clone(est).fit([xs[i] for i in tr], ys[tr]).score([xs[i] for i in te], ys[te])
              for tr, te in StratifiedKFold(3).split(xs, ys)]
    assert np.allclose(scores, manual) and ((0 <= scores) & (scores <= 1)).all()


def test_regressor_in_a_pipeline_after_a_scaler():
    X, y = _reg_data()
    X2 = X[:, :, 0] * 10 + 3                                   # (n, T) univariate sequences
    pipe = make_pipeline(StandardScaler(), LSTMRegressor(**SMALL)).fit(X2, y)
    alone = LSTMRegressor(**SMALL).fit(StandardScaler().fit_transform(X2), y)
    assert np.array_equal(pipe.predict(X2), alone.predict(StandardScaler().fit(X2).transform(X2)))
    assert pipe.score(X2, y) == pytest.approx(alone.score(StandardScaler().fit_transform(X2), y))


def test_classifier_in_a_pipeline_after_a_function_of_3d_sequences():
    X, y = _reg_data()
    labels = np.where(y > np.median(y), "hi", "lo")
    running = FunctionTransformer(np.cumsum, kw_args={"axis": 1})             # (n, T, F) -> running sums
    pipe = make_pipeline(running, LSTMClassifier(**SMALL)).fit(X, labels)
    alone = LSTMClassifier(**SMALL).fit(np.cumsum(X, axis=1), labels)
    assert np.array_equal(pipe.predict_proba(X), alone.predict_proba(np.cumsum(X, axis=1)))
    assert set(pipe.predict(X)) <= {"hi", "lo"} and pipe.classes_.tolist() == ["hi", "lo"]


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
def test_grid_search_over_hidden_size_and_lr(cls):
    if cls is LSTMRegressor:
        X, y = _reg_data(40)
    else:
        X, y = _clf_data(45)
    grid = {"hidden_size": [4, 8], "lr": [1e-2, 3e-2]}
    gs = GridSearchCV(cls(epochs=3), grid, cv=2).fit(X, y)
    assert sorted((p["hidden_size"], p["lr"]) for p in gs.cv_results_["params"]) == \
        [(4, 1e-2), (4, 3e-2), (8, 1e-2), (8, 3e-2)]
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
    assert gs.best_score_ == np.max(gs.cv_results_["mean_test_score"])
    best = gs.best_estimator_
    assert (best.hidden_size, best.lr) == (gs.best_params_["hidden_size"], gs.best_params_["lr"])
    assert best.net_.rnn.hidden_size == best.hidden_size
    assert np.array_equal(gs.predict(X), best.predict(X))


@pytest.mark.parametrize("est", [LSTMRegressor(**SMALL, cell_options={"peepholes": True}), LSTMClassifier(**SMALL),
                                 LSTMForecaster(window=8, **SMALL)])
def test_clone_gives_an_unfitted_twin(est):
    if isinstance(est, LSTMForecaster):
        est.fit(_series())
    else:
        est.fit(*(_reg_data() if isinstance(est, LSTMRegressor) else _clf_data()))
    twin = clone(est)
    assert type(twin) is type(est) and twin.get_params() == est.get_params()
    assert not hasattr(twin, "net_")
    with pytest.raises(NotFittedError):
        twin.predict() if isinstance(twin, LSTMForecaster) else twin.predict(_reg_data()[0])


@pytest.mark.parametrize("exog", [False, True])
def test_forecaster_in_grid_search_and_cross_val_score_with_time_series_splits(exog):
    data = _series(exog=exog)
    args = data if exog else (data,)                 # positionally: series as sklearn's X, exogenous as its y
    est = LSTMForecaster(window=8, **SMALL)
    cv = TimeSeriesSplit(n_splits=2)
    scores = cross_val_score(est, *args, cv=cv)
    manual = [clone(est).fit(*(a[tr] for a in args)).score(*(a[te] for a in args)) for tr, te in cv.split(args[0])]
    assert np.allclose(scores, manual) and np.isfinite(scores).all()
    gs = GridSearchCV(est, {"hidden_size": [4, 8]}, cv=cv).fit(*args)
    assert gs.best_params_["hidden_size"] in (4, 8) and gs.best_estimator_.n_features_in_ == int(exog)
    assert gs.best_estimator_.predict(*args).shape == (1,)
    # No Pipeline: scikit-learn's transformers would see the series (1-D), and the forecaster scales it itself.
