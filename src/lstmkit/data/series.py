"""Time series for forecasting: loading from CSV, ordering by date, windows, baselines, seasonality.

A series is ``values`` (N, F) in time order: column 0 is the target, the others are features (inputs
only: their future is not assumed known). A *window* sample with origin o (the last observed step)
reads rows o-W+1 .. o of every column and predicts the target at o+1 .. o+H (W = window, H = horizon).

Split in time order: the last ``n_val`` rows are validation; a training sample's targets all lie in
the training rows, a validation sample's targets all lie in the validation rows (its inputs may
reach back into training rows, which were observed before). Normalisation statistics come from the
training rows only (``lstmkit.data.scaling``).

Baselines, for a sample with origin o and lead k = 1..H::

    persistence      y_hat(o+k) = y(o)                                  ("tomorrow as today")
    seasonal naive   y_hat(o+k) = y(o + k - m * ceil(k / m))            (the same season, last cycle)

with m the seasonal period: given, or from the spacing of the dates (hourly 24, daily 7, weekly 52,
monthly 12, quarterly 4), or else the lag with the largest autocorrelation peak of the differenced
training target (m = 1, i.e. persistence, when there is no clear peak).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .table import names, read_csv

DATE_NAMES = ("date", "time", "timestamp", "datetime", "ds", "period", "month", "year")


@dataclass
class Series:
    values: np.ndarray                     # (N, F) float64, column 0 = target
    columns: list[str]                     # names of the columns of values
    dates: list[str] | None = None         # the date cells, in time order
    period_hint: int | None = None         # seasonal period implied by the date spacing
    period_source: str = ""                # how period_hint was found
    notes: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.columns[0]


def _parse_date(cell: str):
    """A sortable key for one date cell: a float (numeric dates) or a datetime; None if unparseable."""
    s = cell.strip()
    try:
        v = float(s)
        return v if math.isfinite(v) else None
    except ValueError:
        pass
    for fmt in ("%Y-%m", "%Y/%m", "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    try:
        d = datetime.fromisoformat(s.replace("/", "-"))
        return d.replace(tzinfo=None) if d.tzinfo is None else d
    except ValueError:
        return None


def _period_from_spacing(days: float) -> tuple[int | None, str]:
    """The usual seasonal period of data sampled every ``days`` days."""
    for lo, hi, m, what in ((0.9 / 24, 1.1 / 24, 24, "hourly"), (0.9, 1.1, 7, "daily"), (6.5, 7.5, 52, "weekly"),
                            (27.5, 31.5, 12, "monthly"), (89, 93, 4, "quarterly")):
        if lo <= days <= hi:
            return m, f"date spacing ({what})"
    return None, ""


def load_series(path, target: str, features=(), date: str | None = None, what: str = "--data") -> Series:
    """Read ``path`` (CSV with header): the target column, feature columns, an optional date column.

    ``what`` names the file in error messages (the CLI option it came from).

    Without ``date``, a column named like a date (date, time, timestamp, ds, ...) that is not numeric
    is taken as the date column. Rows are put in date order; duplicate or unreadable dates are errors.
    """
    table = read_csv(path, what)
    features = list(features or [])
    if target in features:
        raise ValueError(f"--features: the target column {target!r} is always an input; leave it out of --features")
    dup = sorted({f for f in features if features.count(f) > 1})
    if dup:
        raise ValueError(f"--features: column(s) {names(dup)} named twice")
    notes = []
    if date is None:
        for h in table.header:
            if h.lower() in DATE_NAMES and h != target and h not in features:
                if any(_looks_textual(c) for c in table.strings(h)[:20]):
                    date = h
                    notes.append(f"date column {h!r} detected by name")
                break
    if date is not None and (date == target or date in features):
        raise ValueError(f"--date: column {date!r} is also the target or a feature; a date column orders rows only")
    values = table.numeric([target, *features], "--target/--features")
    dates, hint, source = None, None, ""
    if date is not None:
        cells = table.strings(date, "--date")
        keys = []
        for i, c in enumerate(cells):
            k = _parse_date(c)
            if k is None:
                raise ValueError(f"{table.path}: {table.where(i)}, column {date!r}: {c!r} is not a date "
                                 f"(expected ISO 8601 like 2024-03-01, 2024-03 or 2024-03-01 12:00, or a number)")
            keys.append(k)
        kinds = {type(k) for k in keys}
        if len(kinds) > 1:
            raise ValueError(f"--date: column {date!r} mixes numbers and dates; use one form for every row")
        order = sorted(range(len(keys)), key=lambda i: keys[i])
        if order != list(range(len(keys))):
            notes.append(f"rows sorted by {date!r}")
        for a, b in zip(order, order[1:]):
            if keys[a] == keys[b]:
                raise ValueError(f"{table.path}: duplicate date {cells[a]!r} at {table.where(a)} and {table.where(b)}; "
                                 f"each time step must appear once")
        values = values[order]
        dates = [cells[i] for i in order]
        if isinstance(keys[0], datetime) and len(keys) > 2:
            ts = np.array([keys[i].timestamp() for i in order])
            hint, source = _period_from_spacing(float(np.median(np.diff(ts))) / 86400.0)
    return Series(np.ascontiguousarray(values), [target, *features], dates, hint, source, notes)


def _looks_textual(cell: str) -> bool:
    try:
        float(cell)
        return False
    except ValueError:
        return bool(cell.strip())


def detect_period(y: np.ndarray, max_lag: int = 400) -> int:
    """Lag of the highest autocorrelation peak of the differenced series y (1-D); 1 if none is clear.

    A peak is a local maximum with autocorrelation above 0.2 (below that, seasonality is too weak
    for a seasonal-naive forecast to be meaningful).
    """
    d = np.diff(np.asarray(y, dtype=np.float64))
    n = d.size
    if n < 8:
        return 1
    d = d - d.mean()
    denom = float(np.dot(d, d))
    if denom == 0.0:
        return 1
    L = min(max_lag, n // 2)
    acf = np.array([np.dot(d[:-k], d[k:]) / denom for k in range(1, L + 1)])   # acf[k-1] = lag k
    best, best_v = 1, 0.2
    for k in range(2, L):                                                       # lags 2 .. L-1
        v = acf[k - 1]
        if v > acf[k - 2] and v >= acf[k] and v > best_v:
            best, best_v = k, v
    return best


# ------------------------------------------------------------------------------------ windows
@dataclass
class Split:
    n_train: int      # rows 0 .. n_train-1 are training rows
    train: np.ndarray  # origins (last observed row) of the training samples
    val: np.ndarray    # origins of the validation samples


def split_origins(N: int, window: int, horizon: int, n_val: int) -> Split:
    """Sample origins for a time-ordered split (module docstring); errors say what is too short."""
    n_train = N - n_val
    need = window + horizon
    if N < need + horizon:
        raise ValueError(f"series too short: {N} rows, but window {window} + horizon {horizon} need "
                         f"{need} rows for one training sample plus {horizon} validation rows; "
                         f"use a smaller --window/--horizon or a longer series")
    if n_train < need:
        raise ValueError(f"series too short for this split: {n_train} training rows (of {N}) but window {window} + "
                         f"horizon {horizon} need {need}; lower --val-fraction or --window")
    if n_val < horizon:
        raise ValueError(f"validation part too short: {n_val} rows but horizon {horizon}; raise --val-fraction")
    train = np.arange(window - 1, n_train - horizon)           # targets o+1..o+H <= n_train-1
    val = np.arange(max(window - 1, n_train - 1), N - horizon)  # targets within the validation rows
    return Split(n_train, train, val)


def windows(z: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """Inputs of the samples with these origins: (W, n, F), time-major."""
    idx = origins[None, :] + np.arange(-window + 1, 1)[:, None]      # (W, n) row indices
    return np.ascontiguousarray(z[idx])


def future(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Targets y(o+1..o+H) of each sample: (n, H)."""
    return y[origins[:, None] + np.arange(1, horizon + 1)[None, :]]


def persistence(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    return np.repeat(y[origins][:, None], horizon, axis=1)


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, period: int) -> np.ndarray | None:
    """(n, H) forecasts, or None when some sample lacks a full season of history."""
    k = np.arange(1, horizon + 1)
    lag = k - period * np.ceil(k / period).astype(int)                 # <= 0
    idx = origins[:, None] + lag[None, :]
    if idx.min() < 0:
        return None
    return y[idx]


def errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """RMSE and MAE over all samples and leads, in the units of the data."""
    e = np.asarray(pred, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return {"rmse": float(np.sqrt(np.mean(e * e))), "mae": float(np.mean(np.abs(e)))}
