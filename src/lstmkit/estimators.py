"""scikit-learn-style estimators over the same training code as ``lstmkit train``.

``LSTMRegressor``   sequences -> numbers (one vector per sequence, read at its last step)
``LSTMForecaster``  a series (plus optional exogenous columns) -> its next ``horizon`` values
``LSTMClassifier``  sequences -> class labels (numbers, strings or booleans; ``predict_proba`` too)

The conventions of scikit-learn, without depending on it: the constructor only stores its
arguments; ``get_params``/``set_params`` see exactly those (so ``sklearn.base.clone`` and grid
searches work); ``fit`` validates, trains and returns ``self``; what was learned ends in ``_``
(``net_``, ``history_``, ``best_epoch_``, ``n_features_in_``, ``classes_``, ...); ``score`` is R^2 for the
regressors and accuracy for the classifier, higher is better.

Sequences (``X``) may be a float array (n, T, F), an array (n, T) of univariate sequences, or a list
of n arrays (T_i, F) / (T_i,) of different lengths. Training holds out ``val_fraction`` of the data
(in time order for the forecaster, stratified for the classifier) for early stopping and keeps the
weights of the best validation epoch.
"""
from __future__ import annotations

import inspect
import re
from numbers import Number

import numpy as np


def _sequences(X, name: str = "X") -> list[np.ndarray]:
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3:
            seqs = list(X)
        elif X.ndim == 2:
            seqs = [row[:, None] for row in X]
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
        if s.dtype.kind not in "fiub":
            raise TypeError(f"{name}: sequence {i} has dtype {s.dtype}; expected numbers")
        s = s.astype(np.float64)
        if s.ndim == 1:
            s = s[:, None]
        if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 1:
            raise ValueError(f"{name}: sequence {i} has shape {s.shape}; expected (T_i, F) with T_i >= 1")
        if not np.isfinite(s).all():
            t, f = (int(v) for v in np.argwhere(~np.isfinite(s))[0])
            raise ValueError(f"{name}: sequence {i} has NaN/Inf at step {t}, feature {f}; clean or impute it first")
        out.append(np.ascontiguousarray(s))
    F = {s.shape[1] for s in out}
    if len(F) != 1:
        raise ValueError(f"{name}: sequences have different numbers of features {sorted(F)}")
    return out


class _LSTMEstimator:
    """Shared parameters, get_params/set_params and the fit machinery."""

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

    # ---------------------------------------------------------------- sklearn protocol
    @classmethod
    def _get_param_names(cls) -> list[str]:
        # As scikit-learn: the parameters are the arguments of the most derived __init__.
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__}.set_params: unknown parameter {k!r}; "
                                 f"valid parameters: {', '.join(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = {k: v for k, v in self.get_params().items() if not (k in defaults and _same(defaults[k], v))}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

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

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise RuntimeError(f"{type(self).__name__}: call fit before predict/score (this instance is not fitted)")


def _same(a, b) -> bool:
    try:
        return bool(a == b) if not isinstance(a, np.ndarray) else False
    except (ValueError, TypeError):
        return False


def _r2(y, p) -> float:
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    ss_res = float(np.sum((y - p) ** 2))
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


class LSTMRegressor(_LSTMEstimator):
    """Sequences -> one number (or vector) each.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(64, 10, 2)); y = X[:, :, 0].sum(axis=1)
    >>> reg = LSTMRegressor(hidden_size=8, epochs=2).fit(X, y)
    >>> reg.predict(X).shape
    (64,)
    """

    _task = "classify"     # the config fields of sequence tasks; the training task is RegressTask

    def fit(self, X, y):
        from .training.common import build_network
        from .training.regress import RegressTask

        if self.algorithm != "bptt":
            raise ValueError(f"algorithm: LSTMRegressor trains with 'bptt', got {self.algorithm!r}")
        xs = _sequences(X)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim not in (1, 2) or y.shape[0] != len(xs):
            raise ValueError(f"y: expected {len(xs)} targets (n,) or (n, k), got shape {y.shape}")
        if not np.isfinite(y).all():
            raise ValueError("y: contains NaN or Inf")
        cfg = self._config()
        task = RegressTask(xs, y, cfg)
        self._train(task, build_network(cfg, xs[0].shape[1], task.K, "identity"), cfg)
        self.n_features_in_ = xs[0].shape[1]
        self.x_scaler_, self.y_scaler_, self.n_outputs_ = task.x_scaler, task.y_scaler, task.K
        self._y_1d = y.ndim == 1
        self._task_obj = task
        return self

    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        xs = _sequences(X)
        if xs[0].shape[1] != self.n_features_in_:
            raise ValueError(f"X: expected {self.n_features_in_} features, got {xs[0].shape[1]}")
        t = self._task_obj
        z = t.outputs_scaled(self.net_, [self.x_scaler_.transform(s).astype(t.dtype) for s in xs])
        p = self.y_scaler_.inverse(z)
        return p[:, 0] if self._y_1d else p

    def score(self, X, y) -> float:
        """Coefficient of determination R^2 of the predictions (as scikit-learn's regressors)."""
        return _r2(np.asarray(y, dtype=np.float64), self.predict(X))


class LSTMForecaster(_LSTMEstimator):
    """A series -> its next ``horizon`` values, from windows of ``window`` steps.

    ``fit(y, X=None)``: y (n,) the series; X (n, f) optional exogenous columns (inputs only).
    ``predict(y=None, X=None)``: the ``horizon`` values after the end of y (default: the training
    series), shape (horizon,). ``score(y, X=None)``: R^2 over every window of y.

    >>> import numpy as np
    >>> y = np.sin(np.arange(200) / 4.0)
    >>> f = LSTMForecaster(window=16, horizon=3, hidden_size=8, epochs=2).fit(y)
    >>> f.predict().shape
    (3,)
    """

    _task = "forecast"

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
        self._task_obj = task
        return self

    def _check_X(self, X, y):
        if (X is None) != (self.n_features_in_ == 0):
            raise ValueError(f"X: the forecaster was fitted with {self.n_features_in_} exogenous columns; "
                             f"pass {'X' if self.n_features_in_ else 'no X'}")

    def predict(self, y=None, X=None) -> np.ndarray:
        self._check_fitted()
        t = self._task_obj
        if y is None:
            if X is not None:
                raise ValueError("X: without y, predict forecasts after the training series; pass no X")
            return t.predict(self.net_, np.array([t.values.shape[0] - 1]))[0]
        self._check_X(X, y)
        v = self._values(y, X)
        if v.shape[0] < self.window:
            raise ValueError(f"y: needs at least window = {self.window} values, got {v.shape[0]}")
        z = t.scaler.transform(v).astype(t.z.dtype)
        p = t.predict_scaled(self.net_, np.array([v.shape[0] - 1]), z)
        return t.to_units(p)[0]

    def score(self, y, X=None) -> float:
        """R^2 of the forecasts over every window of y (all leads together)."""
        from .data import series as S

        self._check_fitted()
        self._check_X(X, y)
        v = self._values(y, X)
        W, H = self.window, self.horizon
        if v.shape[0] < W + H:
            raise ValueError(f"y: needs at least window + horizon = {W + H} values, got {v.shape[0]}")
        t = self._task_obj
        z = t.scaler.transform(v).astype(t.z.dtype)
        origins = np.arange(W - 1, v.shape[0] - H)
        pred = t.to_units(t.predict_scaled(self.net_, origins, z))
        return _r2(S.future(v[:, 0], origins, H).ravel(), pred.ravel())


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
    arr = np.asarray(y)
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
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError("y: a label is NaN; every sequence needs a class label")
    return arr


class LSTMClassifier(_LSTMEstimator):
    """Sequences -> class labels (read at each sequence's last step).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(rng.integers(5, 15), 2)) + c for c in (0, 1) * 20]; y = ["lo", "hi"] * 20
    >>> clf = LSTMClassifier(hidden_size=8, epochs=2).fit(X, y)
    >>> sorted(clf.classes_.tolist()), clf.predict(X[:3]).shape
    (['hi', 'lo'], (3,))
    """

    _task = "classify"

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
        classes, idx = np.unique(y, return_inverse=True)
        cfg = self._config()
        task = ClassifyTask(xs, [str(i) for i in idx], cfg, classes=[str(i) for i in range(classes.size)])
        self._train(task, build_network(cfg, xs[0].shape[1], task.K, task.activation), cfg)
        self.classes_ = classes
        self.n_features_in_ = xs[0].shape[1]
        self.scaler_ = task.scaler
        self._task_obj = task
        return self

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        xs = _sequences(X)
        if xs[0].shape[1] != self.n_features_in_:
            raise ValueError(f"X: expected {self.n_features_in_} features, got {xs[0].shape[1]}")
        t = self._task_obj
        out = t.outputs(self.net_, [self.scaler_.transform(s).astype(t.dtype) for s in xs])
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)          # checks fitted first
        return self.classes_[proba.argmax(axis=1)]

    def score(self, X, y) -> float:
        """Accuracy (as scikit-learn's classifiers)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
