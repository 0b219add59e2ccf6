"""Sequence-to-one regression (``LSTMRegressor``): variable-length sequences -> a vector each.

The same batching as classification (``lstmkit.training.classify``): zero-padded batches with lengths,
the target at each sequence's last real step, an identity readout and 1/2 squared error averaged over
sequences and outputs. Inputs and targets are standardised with statistics of the training part; the
validation part (for early stopping) is a seeded random subset.
"""
from __future__ import annotations

import numpy as np

from ..data.scaling import Scaler
from ..data.sequences import pad
from .common import bptt_epoch, last_step_outputs


class RegressTask:
    item_unit = "seq"

    def __init__(self, xs: list[np.ndarray], y: np.ndarray, cfg):
        self.cfg = cfg
        y = np.asarray(y, dtype=np.float64)
        self.y = y.reshape(len(xs), -1)                                          # (n, K)
        rng = np.random.default_rng([cfg.seed, 2])
        order = rng.permutation(len(xs))
        n_val = min(max(1, int(round(cfg.val_fraction * len(xs)))), len(xs) - 1)
        if len(xs) < 2:
            raise ValueError("X: need at least 2 sequences (one for training, one for validation)")
        self.val_idx, self.train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        self.dtype = np.dtype(cfg.dtype)
        self.x_scaler = Scaler.fit(np.concatenate([xs[i] for i in self.train_idx]))
        self.y_scaler = Scaler.fit(self.y[self.train_idx])
        self.xs = [self.x_scaler.transform(s).astype(self.dtype) for s in xs]
        self.z = self.y_scaler.transform(self.y)
        self.K = self.y.shape[1]
        self.items_per_epoch = int(self.train_idx.size)

    def _batch(self, idx):
        x, lengths = pad([self.xs[i] for i in idx], self.dtype)
        T, b = x.shape[:2]
        tgt = np.zeros((T, b, self.K), dtype=self.dtype)
        mask = np.zeros((T, b), dtype=bool)
        tgt[lengths - 1, np.arange(b)] = self.z[idx]
        mask[lengths - 1, np.arange(b)] = True
        return x, lengths, tgt, mask

    def train_epoch(self, net, guard, rng, bar) -> dict:
        return bptt_epoch(net, guard, rng, bar, self.train_idx, self.cfg.batch_size, self._batch, "half_sse")

    def outputs_scaled(self, net, xs: list[np.ndarray]) -> np.ndarray:
        return last_step_outputs(net, xs, self.dtype)

    def evaluate(self, net) -> dict:
        p = self.outputs_scaled(net, [self.xs[i] for i in self.val_idx])
        return {"val_loss": float(0.5 * np.mean((p - self.z[self.val_idx]) ** 2))}

    def epoch_line(self, r: dict, epochs: int) -> str:
        return f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.5f}  val loss {r['val_loss']:.5f}"
