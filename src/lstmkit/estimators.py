"""scikit-learn estimators over the same training code as ``lstmkit train``.

``LSTMRegressor``   sequences -> numbers (one vector per sequence, read at its last step)
``LSTMForecaster``  a series (plus optional exogenous columns) -> its next ``horizon`` values
``LSTMClassifier``  sequences -> class labels (numbers, strings or booleans; ``predict_proba`` too)

They need scikit-learn (``pip install 'lstmkit[sklearn]'``) and build on its ``BaseEstimator`` and
mixins, so ``clone``, ``Pipeline``, ``GridSearchCV`` and ``cross_val_score`` treat them as their own;
``import lstmkit`` loads this module only when an estimator is first used, because scikit-learn is
optional and slow to import. As in scikit-learn: the constructor only stores its arguments; ``fit``
validates, trains and returns ``self``; what was learned ends in ``_`` (``net_``, ``history_``,
``best_epoch_``, ``n_features_in_``, ``classes_``, ...); ``score`` is R^2 for the regressors and accuracy
for the classifier, higher is better. ``tests/test_sklearn_checks.py`` runs scikit-learn's estimator
checks and lists the few that do not apply.

Sequences (``X``) may be a float array (n, T, F), an array (n, T) of univariate sequences, or a list
of n arrays (T_i, F) / (T_i,) of different lengths. A 2-D X is therefore n sequences of T steps, not
n rows of T features: ``n_features_in_`` counts the features of one step (1 for a 2-D X), and a 2-D X
of another width is a batch of sequences of another length, which predict accepts. Training holds
out ``val_fraction`` of the data (in time order for the forecaster, stratified for the classifier) for
early stopping and keeps the weights of the best validation epoch.
"""
from __future__ import annotations

import re
from numbers import Number

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ModuleNotFoundError as e:
    if (e.name or "").partition(".")[0] != "sklearn":
        raise
    raise ImportError("lstmkit's estimators need scikit-learn, which is not installed; "
                      "pip install 'lstmkit[sklearn]'") from None
from sklearn.metrics import r2_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data


def _sequences(X, name: str = "X") -> list[np.ndarray]:
    from scipy.sparse import issparse

    if issparse(X):
        raise TypeError(f"{name}: got a sparse {type(X).__name__}; sparse input is not supported (sequences are "
                        f"dense), pass X.toarray()")
    if not isinstance(X, (list, tuple, np.ndarray)) and hasattr(X, "__array__"):
        X = np.asarray(X)                         # pandas and other array-likes: their values
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3:
            seqs = list(X)
        elif X.ndim == 2:
            seqs = [row[:, None] for row in X]
        elif X.ndim == 1:
            raise ValueError(f"{name}: expected (n, T, F), (n, T) or a list of (T_i, F) arrays, got a 1-D array of "
                             f"shape {X.shape}. Reshape your data: X.reshape(1, -1) if it is one univariate sequence, "
                             f"X.reshape(-1, 1) if it is n sequences of one step")
        else:
            raise ValueError(f"{name}: expected (n, T, F), (n, T) or a list of (T_i, F) arrays, got shape {X.shape}")
    else:
        try:
            seqs = [np.asarray(s) for s in X]
        except TypeError:
            raise TypeError(f"{name}: expected an array or a list of arrays, got {type(X).__name__}") from None
    if not seqs:
        raise ValueError(f"{name}: got no sequences")
    out = []
    for i, s in enumerate(seqs):
        if s.dtype == object:
            try:
                s = s.astype(np.float64)          # numbers held as Python objects, as scikit-learn takes them
            except (TypeError, ValueError) as e:
                raise TypeError(f"{name}: sequence {i} holds a value that is not a number ({e}); "
                                f"expected numbers") from None
        if s.dtype.kind == "c":
            raise ValueError(f"{name}: sequence {i} has dtype {s.dtype}. Complex data not supported; pass real "
                             f"numbers (e.g. the real and imaginary parts as two features)")
        if s.dtype.kind not in "fiub":
            raise TypeError(f"{name}: sequence {i} has dtype {s.dtype}; expected numbers")
        s = s.astype(np.float64)
        if s.ndim == 1:
            s = s[:, None]
        if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 1:
            raise ValueError(f"{name}: sequence {i} has shape {s.shape}; expected (T_i, F) with T_i >= 1 steps and "
                             f"F >= 1 features")
        if not np.isfinite(s).all():
            t, f = (int(v) for v in np.argwhere(~np.isfinite(s))[0])
            raise ValueError(f"{name}: sequence {i} has NaN/Inf at step {t}, feature {f}; clean or impute it first")
        out.append(np.ascontiguousarray(s))
    F = {s.shape[1] for s in out}
    if len(F) != 1:
        raise ValueError(f"{name}: sequences have different numbers of features {sorted(F)}")
    return out


def _at_least_two(xs: list) -> None:
    # here rather than in the tasks: scikit-learn's checks look for "1 sample" in the message
    if len(xs) < 2:
        raise ValueError(f"X: got {len(xs)} sample (one sequence); training needs at least 2, one of them held "
                         f"out for validation")


class _LSTMEstimator(BaseEstimator):
    """Shared parameters, tags and the fit machinery (get_params/set_params/repr are BaseEstimator's)."""

    _task = ""

    def __init__(self, hidden_size=32, num_layers=1, cell="lstm", cell_options=None, algorithm="bptt",
                 optimizer="adam", lr=1e-3, epochs=100, batch_size=32, seed=0, dtype="float32", clip_norm=1.0,
                 patience=10, val_fraction=0.2, verbose=False):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.cell_options = cell_options
        self.algorithm = algorithm
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.dtype = dtype
        self.clip_norm = clip_norm
        self.patience = patience
        self.val_fraction = val_fraction
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True      # (n, T, F); a 2-D X is (n, T), univariate sequences
        tags.input_tags.allow_nan = False         # NaN/Inf are refused, naming the sequence, step and feature
        tags.input_tags.sparse = False
        return tags

    # ---------------------------------------------------------------- helpers
    def _config(self, extra: dict | None = None):
        from .training import config as C

        flags = {"hidden_size": self.hidden_size, "num_layers": self.num_layers, "cell": self.cell,
                 "cell_options": dict(self.cell_options or {}), "algorithm": self.algorithm,
                 "optimizer": self.optimizer, "lr": self.lr, "epochs": self.epochs, "batch_size": self.batch_size,
                 "seed": self.seed, "dtype": self.dtype, "clip_norm": self.clip_norm, "patience": self.patience,
                 "val_fraction": self.val_fraction, **(extra or {})}
        if self.algorithm == "rtrl1997":
            flags.pop("optimizer")
            flags.pop("batch_size")
            flags.pop("clip_norm")
        try:
            return C.resolve(self._task, {}, flags, where_file="", in_memory=True)
        except (TypeError, ValueError) as e:
            # the config speaks in command-line flags; an estimator's user knows parameter names
            msg = re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), str(e))
            raise type(e)(f"{type(self).__name__}: {msg.replace('flags: ', '')}") from None

    def _train(self, task, net, cfg) -> None:
        from .training.common import build_optimizer
        from .training.trainer import fit

        rng = np.random.default_rng([cfg.seed, 1])
        result = fit(task, net, build_optimizer(cfg), cfg, rng, progress=bool(self.verbose),
                     log=print if self.verbose else None)
        self.net_ = net
        self.history_ = result.state.history
        self.best_epoch_ = result.state.best_epoch
        self.n_epochs_ = result.state.epoch
        self.config_ = cfg

    _run_task = ""          # the lstmkit train task whose runs from_run accepts ("" = none); a class
                            # with one defines _load_run(predictor, summary): its other fitted attributes

    @classmethod
    def from_run(cls, run_dir):
        """The fitted estimator of a finished ``lstmkit train`` run (predict at once; ``fit`` retrains).

        The parameters are the run's config; the network, scaler and classes are the run's. Nothing of
        the training data is read, so a run copied to another machine loads there.
        """
        from .runs import Run
        from .training import config as C
        from .training.predictors import PREDICTORS

        run = Run.open(run_dir, "from_run")
        if run.task != cls._run_task:
            fits = {c._run_task: c.__name__ for c in (LSTMForecaster, LSTMClassifier)}
            hint = (f"use {fits[run.task]}.from_run" if run.task in fits else
                    "text runs answer through lstmkit.training.predictors.from_run(path) or lstmkit predict")
            raise ValueError(f"from_run: {run.path} is a {run.task} run; {cls.__name__} loads "
                             f"{cls._run_task or 'no'} runs; {hint}")
        cfg = run.config()
        est = cls(**{k: cfg[k] for k in cls._get_param_names() if k in cfg})
        pred = PREDICTORS[run.task].from_run(run)          # the network and what reading new data needs
        est.net_ = pred.net
        est.scaler_ = pred.scaler
        est.history_ = run.metrics()
        summary = run.summary() or {}
        est.best_epoch_ = summary.get("best_epoch")
        est.n_epochs_ = summary.get("epochs_run", len(est.history_))
        est.config_ = C.from_dict(cfg)[1]
        est._load_run(pred, summary)
        return est

    def _fitted_sequences(self, X) -> list[np.ndarray]:
        """X's sequences for predict: fitted first, then the feature count of fit (in scikit-learn's words)."""
        check_is_fitted(self)
        xs = _sequences(X)
        F = xs[0].shape[1]
        if F != self.n_features_in_:
            raise ValueError(f"X has {F} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                             f"features as input (per step: F of (n, T, F) and (T_i, F), 1 for (n, T)); pass "
                             f"sequences of {self.n_features_in_} features")
        return xs


class LSTMRegressor(RegressorMixin, _LSTMEstimator):
    """Sequences -> one number (or vector) each.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(64, 10, 2)); y = X[:, :, 0].sum(axis=1)
    >>> reg = LSTMRegressor(hidden_size=8, epochs=2).fit(X, y)
    >>> reg.predict(X).shape
    (64,)
    """

    _task = "classify"     # the config fields of sequence tasks; the training task is RegressTask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True      # y (n, k): k outputs of one readout
        return tags

    def fit(self, X, y):
        from .training.common import build_network
        from .training.regress import RegressTask

        if self.algorithm != "bptt":
            raise ValueError(f"algorithm: LSTMRegressor trains with 'bptt', got {self.algorithm!r}")
        xs = _sequences(X)
        y = np.asarray(validate_data(self, y=y, multi_output=True, y_numeric=True), dtype=np.float64)
        if y.ndim not in (1, 2) or y.shape[0] != len(xs):
            raise ValueError(f"y: expected {len(xs)} targets (n,) or (n, k), got shape {y.shape}")
        _at_least_two(xs)
        cfg = self._config()
        task = RegressTask(xs, y, cfg)
        self._train(task, build_network(cfg, xs[0].shape[1], task.K, "identity"), cfg)
        self.n_features_in_ = xs[0].shape[1]
        self.x_scaler_, self.y_scaler_, self.n_outputs_ = task.x_scaler, task.y_scaler, task.K
        self._y_1d = y.ndim == 1
        return self

    def predict(self, X) -> np.ndarray:
        from .training.common import last_step_outputs

        xs = self._fitted_sequences(X)
        dtype = self.net_.dtype
        z = last_step_outputs(self.net_, [self.x_scaler_.transform(s).astype(dtype) for s in xs], dtype)
        p = self.y_scaler_.inverse(z)
        return p[:, 0] if self._y_1d else p


class LSTMForecaster(_LSTMEstimator):
    """A series -> its next ``horizon`` values, from windows of ``window`` steps.

    ``fit(y, X=None)``: y (n,) the series; X (n, f) optional exogenous columns (inputs only).
    ``predict(y=None, X=None)``: the ``horizon`` values after the end of y (default: the training
    series), shape (horizon,). ``score(y, X=None)``: R^2 over every window of y.

    Not a scikit-learn regressor (no RegressorMixin): predict forecasts what follows a series rather
    than one target per row of X, so scikit-learn's regressor tools (``scoring="r2"``, stacking, the
    regressor checks) do not apply. Positionally, ``fit(y, X)`` is what scikit-learn's tools call
    ``fit(X, y)``: ``GridSearchCV`` and ``cross_val_score`` with a ``TimeSeriesSplit`` (contiguous,
    time-ordered folds) work and rank by ``score``.

    >>> import numpy as np
    >>> y = np.sin(np.arange(200) / 4.0)
    >>> f = LSTMForecaster(window=16, horizon=3, hidden_size=8, epochs=2).fit(y)
    >>> f.predict().shape
    (3,)
    """

    _task = "forecast"
    _run_task = "forecast"          # from_run loads runs of lstmkit train forecast

    def __init__(self, window=24, horizon=1, target_mode="delta", season=None, hidden_size=32, num_layers=1,
                 cell="lstm", cell_options=None, algorithm="bptt", optimizer="adam", lr=1e-3, epochs=200,
                 batch_size=32, seed=0, dtype="float32", clip_norm=1.0, patience=20, val_fraction=0.2,
                 verbose=False):
        super().__init__(hidden_size=hidden_size, num_layers=num_layers, cell=cell, cell_options=cell_options,
                         algorithm=algorithm, optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
                         seed=seed, dtype=dtype, clip_norm=clip_norm, patience=patience, val_fraction=val_fraction,
                         verbose=verbose)
        self.window = window
        self.horizon = horizon
        self.target_mode = target_mode
        self.season = season

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scikit-learn's X is the series (1-D); its y, the exogenous columns, is optional
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.target_tags.required = False
        return tags

    def _values(self, y, X, name="y") -> np.ndarray:
        y = np.asarray(y)
        if y.dtype.kind not in "fiu" or y.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D numeric series (n,), got {y.dtype} shape {y.shape}")
        cols = [y.astype(np.float64)[:, None]]
        if X is not None:
            X = np.asarray(X)
            if X.dtype.kind not in "fiu":
                raise TypeError(f"X: expected numbers, got dtype {X.dtype}")
            X = X.astype(np.float64).reshape(len(X), -1)
            if X.shape[0] != y.shape[0]:
                raise ValueError(f"X: expected {y.shape[0]} rows (one per value of {name}), got {X.shape[0]}")
            cols.append(X)
        v = np.concatenate(cols, axis=1)
        if not np.isfinite(v).all():
            r, c = (int(i) for i in np.argwhere(~np.isfinite(v))[0])
            raise ValueError(f"{name if c == 0 else 'X'}: NaN/Inf gap at row {r}{'' if c == 0 else f', column {c - 1}'}; "
                             f"fill or drop it first")
        return v

    def fit(self, y, X=None):
        from .training.common import build_network
        from .training.forecast import ForecastTask

        values = self._values(y, X)
        cfg = self._config({"window": self.window, "horizon": self.horizon, "target_mode": self.target_mode,
                            "season": self.season})
        task = ForecastTask(values, cfg)
        self._train(task, build_network(cfg, values.shape[1], cfg.horizon, "identity"), cfg)
        self.n_features_in_ = values.shape[1] - 1
        self.scaler_ = task.scaler
        self.seasonal_period_ = task.period
        self.baselines_ = task.baselines()
        self.validation_ = task.evaluate(self.net_)
        self.series_tail_ = values[-self.window:]        # (W, 1+f): what predict() forecasts after
        return self

    def _load_run(self, pred, summary: dict) -> None:
        self.n_features_in_ = len(pred.columns) - 1
        self.baselines_ = summary.get("baselines")
        self.seasonal_period_ = (self.baselines_ or {}).get("seasonal_naive", {}).get("period")
        v = summary.get("validation", {})
        self.validation_ = {"val_loss": v.get("loss"), "val_rmse": v.get("rmse"), "val_mae": v.get("mae")}
        self.series_tail_ = None                        # the training series stays where it was

    def _predictor(self):
        from .training.predictors import ForecastPredictor

        cols = ["y"] + [f"x{j}" for j in range(self.n_features_in_)]
        return ForecastPredictor(self.net_, self.scaler_, cols, self.window, self.horizon, self.target_mode)

    def _check_X(self, X, y):
        if (X is None) != (self.n_features_in_ == 0):
            raise ValueError(f"X: the forecaster was fitted with {self.n_features_in_} exogenous columns; "
                             f"pass {'X' if self.n_features_in_ else 'no X'}")

    def predict(self, y=None, X=None) -> np.ndarray:
        check_is_fitted(self)
        if y is None:
            if X is not None:
                raise ValueError("X: without y, predict forecasts after the training series; pass no X")
            if self.series_tail_ is None:
                raise ValueError("y: this forecaster was loaded from a run, which keeps no training series; "
                                 "pass y (and X), the series to forecast after")
            return self._predictor().forecast(self.series_tail_)
        self._check_X(X, y)
        v = self._values(y, X)
        if v.shape[0] < self.window:
            raise ValueError(f"y: needs at least window = {self.window} values, got {v.shape[0]}")
        return self._predictor().forecast(v)

    def score(self, y, X=None) -> float:
        """R^2 of the forecasts over every window of y (all leads together)."""
        check_is_fitted(self)
        self._check_X(X, y)
        v = self._values(y, X)
        W, H = self.window, self.horizon
        if v.shape[0] < W + H:
            raise ValueError(f"y: needs at least window + horizon = {W + H} values, got {v.shape[0]}")
        b = self._predictor().backtest(v)
        return float(r2_score(b["actual"].ravel(), b["forecast"].ravel()))


def _label_kind(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "booleans"
    if isinstance(v, str):
        return "strings"
    if isinstance(v, (Number, np.number)) and not isinstance(v, complex):
        return "numbers"                      # NaN too: refused below, once the labels are an array
    return type(v).__name__


def _labels(y, n: int) -> np.ndarray:
    """Class labels as a 1-D array of one kind: numbers, strings or booleans (as scikit-learn takes them).

    Checked before NumPy converts them: np.asarray([1, "one"]) would silently make 1 the string "1", and
    predictions would then never equal the labels they came from.
    """
    if y is None:
        raise ValueError(f"y: expected {n} labels (one per sequence); the classifier requires y to be passed, but "
                         f"the target y is None")
    if not isinstance(y, (list, tuple)):
        y = np.asarray(y)                         # pandas and other array-likes: their values
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = column_or_1d(arr, warn=True)        # a column vector: scikit-learn's DataConversionWarning, then 1-D
        y = arr if isinstance(y, np.ndarray) else [row[0] for row in y]
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"y: expected {n} labels (one number or string per sequence), got shape {arr.shape}")
    if arr.dtype.kind == "S":
        arr = arr.astype(str)                     # bytes labels: decoded, as the .npz loader does
    if not isinstance(y, np.ndarray) or arr.dtype == object:
        kinds = {_label_kind(v) for v in (arr.tolist() if isinstance(y, np.ndarray) else y)}
        if len(kinds) > 1 or not kinds <= {"numbers", "strings", "booleans"}:
            raise ValueError(f"y: expected class labels of one kind (all numbers, all strings or all booleans), "
                             f"got {', '.join(sorted(kinds))}; convert them to one kind first")
        if arr.dtype == object:
            arr = np.asarray(arr.tolist())        # NumPy picks int, float, str or bool from the values
    if arr.dtype.kind not in "biufU":
        raise ValueError(f"y: expected numbers, strings or booleans as class labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("y: a label is NaN or Inf; every sequence needs a class label")
    check_classification_targets(arr)             # refuses a regression target: "Unknown label type: continuous"
    return arr


class LSTMClassifier(ClassifierMixin, _LSTMEstimator):
    """Sequences -> class labels (read at each sequence's last step).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(rng.integers(5, 15), 2)) + c for c in (0, 1) * 20]; y = ["lo", "hi"] * 20
    >>> clf = LSTMClassifier(hidden_size=8, epochs=2).fit(X, y)
    >>> sorted(clf.classes_.tolist()), clf.predict(X[:3]).shape
    (['hi', 'lo'], (3,))
    """

    _task = "classify"
    _run_task = "classify"          # from_run loads runs of lstmkit train classify

    def __init__(self, hidden_size=32, num_layers=1, cell="lstm", cell_options=None, algorithm="bptt",
                 optimizer="adam", lr=3e-3, epochs=100, batch_size=32, seed=0, dtype="float32", clip_norm=1.0,
                 patience=15, val_fraction=0.2, verbose=False):
        super().__init__(hidden_size=hidden_size, num_layers=num_layers, cell=cell, cell_options=cell_options,
                         algorithm=algorithm, optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
                         seed=seed, dtype=dtype, clip_norm=clip_norm, patience=patience, val_fraction=val_fraction,
                         verbose=verbose)

    def fit(self, X, y):
        from .training.classify import ClassifyTask
        from .training.common import build_network

        xs = _sequences(X)
        y = _labels(y, len(xs))
        _at_least_two(xs)
        classes, idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"y: only one class ({classes.tolist()[0]!r}); classification needs at least two")
        cfg = self._config()
        task = ClassifyTask(xs, [str(i) for i in idx], cfg, classes=[str(i) for i in range(classes.size)])
        self._train(task, build_network(cfg, xs[0].shape[1], task.K, task.activation), cfg)
        self.classes_ = classes
        self.n_features_in_ = xs[0].shape[1]
        self.scaler_ = task.scaler
        return self

    def _load_run(self, pred, summary: dict) -> None:
        self.classes_ = np.asarray(pred.classes)
        self.n_features_in_ = len(pred.features)

    def predict_proba(self, X) -> np.ndarray:
        from .training.predictors import ClassifyPredictor

        xs = self._fitted_sequences(X)
        names = [str(c) for c in self.classes_]
        return ClassifyPredictor(self.net_, self.scaler_, names, [""] * self.n_features_in_).proba(xs)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)          # checks fitted first
        return self.classes_[proba.argmax(axis=1)]
