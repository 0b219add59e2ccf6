"""Standardisation fitted on the training part only: z = (x - mean) / scale, per feature.

Fitting on all data would let the validation part's mean and spread leak into training (the model
would see the future of a time series through its normalisation). A feature that is constant on the
training part gets scale 1, so it maps to 0 there instead of dividing by zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scaler:
    mean: np.ndarray     # (F,)
    scale: np.ndarray    # (F,), > 0

    @classmethod
    def fit(cls, x: np.ndarray) -> "Scaler":
        """Fit on x (..., F): the statistics of every row of every leading axis together."""
        flat = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
        mean = flat.mean(axis=0)
        scale = flat.std(axis=0)
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(mean)), scale, 1.0)
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
    def from_dict(cls, d: dict) -> "Scaler":
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64))
