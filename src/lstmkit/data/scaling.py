"""Standardisation fitted on the training part only: z = (x - mean) / scale, per feature.

Fitting on all data would let the validation part's mean and spread leak into training (the model
would see the future of a time series through its normalisation).

Rules of :meth:`Scaler.fit`, each relative to the feature's own magnitude M = max |x| so that the units
of the data do not matter (a series in units of 1e-15 is standardised as the same series in units of 1):

- **constant**: std <= 1e-12 M (all values equal up to float64 rounding). Such a feature gets scale 1
  instead of its spread, so it maps to 0 on the training part rather than being divided by zero or by
  rounding noise, and a :class:`DataWarning` says so.
- **extreme outliers**: a value more than 50 robust standard deviations from the median, the robust
  standard deviation being 1.4826 MAD (the median absolute deviation; 1.4826 makes it the standard
  deviation for normal data, where 50 of them never occur). A :class:`DataWarning` names the feature,
  since one such value widens the scale and squeezes all others together. Not applied when MAD = 0
  (more than half the values equal: indicators, counts), where rare values are not errors.
- **too large**: |x| > sqrt(float64 max) ~ 1.34e154 is refused with a ValueError: the squares that
  make the variance (and squared-error losses, RMSE in data units) overflow to inf there.

Mean and std are computed on x / 2^e with 2^e ~ M, an exact rescaling, so the squares of tiny values
do not underflow either; for data of ordinary magnitude the results are bit for bit those of x itself.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

CONSTANT_RTOL = 1e-12                               # std <= this x max|x|: constant
OUTLIER_ROBUST_SD = 50.0                            # |x - median| > this x 1.4826 MAD: extreme outlier
MAX_MAGNITUDE = float(np.sqrt(np.finfo(np.float64).max))   # ~1.34e154: squares beyond overflow


class DataWarning(UserWarning):
    """The training data has a property that will likely spoil training (filterable by this category)."""


@dataclass
class Scaler:
    mean: np.ndarray     # (F,)
    scale: np.ndarray    # (F,), > 0

    @classmethod
    def fit(cls, x: np.ndarray, names: list[str] | None = None) -> "Scaler":
        """Fit on x (..., F): the statistics of every row of every leading axis together.

        ``names`` (F,) name the features in warnings and errors (default "feature j"). The rules are
        the module's: constant and outlying features warn, magnitudes beyond 1.34e154 are refused.
        """
        flat = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
        F = flat.shape[1]
        names = list(names) if names is not None else [f"feature {j}" for j in range(F)]
        if flat.shape[0] == 0:
            raise ValueError("Scaler.fit: no rows to fit on; the training part is empty")
        if not np.isfinite(flat).all():
            j = int(np.argwhere(~np.isfinite(flat))[0][1])
            raise ValueError(f"{names[j]}: contains NaN or Inf; clean or impute the data first")
        big = np.abs(flat).max(axis=0)                                  # M per feature
        j = int(np.argmax(big))
        if big[j] > MAX_MAGNITUDE:
            raise ValueError(f"{names[j]}: values up to {big[j]:.3g} in magnitude are too large to standardise "
                             f"in float64 (their squares, which the variance and squared errors need, overflow above "
                             f"{MAX_MAGNITUDE:.3g}); rescale the column, "
                             f"e.g. divide it by 1e{int(np.floor(np.log10(big[j])))}")
        e = np.frexp(big)[1]                                            # M = m 2^e, 0.5 <= m < 1
        u = np.ldexp(flat, -e)                                          # exact: |u| < 1
        mean = np.ldexp(u.mean(axis=0), e)
        std = np.ldexp(u.std(axis=0), e)
        constant = std <= CONSTANT_RTOL * big
        scale = np.where(constant, 1.0, std)
        for j in range(F):
            if constant[j]:
                _warn(f"{names[j]} is constant on the training data (every value {mean[j]:.6g} to within "
                      f"{CONSTANT_RTOL:g} relative), so it tells the model nothing there; it is only centred "
                      f"(scale 1), not divided by its spread; drop it or check the data")
            else:
                _warn_outliers(flat[:, j], names[j])
        return cls(mean, scale)

    @classmethod
    def identity(cls, n: int) -> "Scaler":
        return cls(np.zeros(n), np.ones(n))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.scale + self.mean

    def to_dict(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, d) -> "Scaler":
        """The scaler of ``to_dict``, checked: equally long lists ``mean`` and ``scale`` of finite numbers, scale > 0
        (a saved one may be damaged; a zero or NaN scale would turn every prediction into Inf or NaN)."""
        lists = [d.get(k) if isinstance(d, dict) else None for k in ("mean", "scale")]
        if (not all(isinstance(v, list) and v for v in lists) or len(lists[0]) != len(lists[1])
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for v in lists for x in v)):
            raise ValueError("scaler: expected equally long, non-empty lists 'mean' and 'scale' of numbers")
        mean, scale = (np.asarray(v, dtype=np.float64) for v in lists)
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("scaler: 'mean' and 'scale' must be finite and every scale > 0")
        return cls(mean, scale)


def _warn_outliers(col: np.ndarray, name: str) -> None:
    """Warn when a value lies more than OUTLIER_ROBUST_SD robust standard deviations from the median."""
    med = np.median(col)
    dev = np.abs(col - med)
    robust_sd = 1.4826 * np.median(dev)
    if robust_sd == 0:
        return
    z = dev / robust_sd
    far = int(np.count_nonzero(z > OUTLIER_ROBUST_SD))
    if far:
        i = int(np.argmax(z))
        _warn(f"{name} has {far} extreme value(s) in the training data, e.g. {col[i]:.6g}, {z[i]:.0f} robust standard "
              f"deviations (1.4826 MAD = {robust_sd:.3g}) from the median {med:.6g}; they widen the scale and squeeze "
              f"the other values together; check for a data error, or clip or transform (e.g. log) the column")


_REGISTRY: dict = {}      # warn_explicit's memory: each distinct message once per process, as warnings.warn does


def _warn(message: str) -> None:
    # One line: a location of "lstmkit:0" has no source line for Python to print under the message.
    warnings.warn_explicit(message, DataWarning, "lstmkit", 0, module=__name__, registry=_REGISTRY)
