"""Sequence classification: variable-length sequences -> one class each, read at the last real step.

The network runs over each (zero-padded) batch with ``lengths``; only the output at a sequence's
last real step carries the target, so padding changes nothing (the state is frozen past the end).
With full BPTT the readout is a softmax and the loss the cross-entropy; with the paper's rule
(``algorithm="rtrl1997"``) the readout is logistic and the loss 1/2 squared error on one-hot targets,
as in the paper. Features are standardised with statistics of the training sequences' real steps.

The held-out split is stratified (the same fraction of every class, at least one sequence of each
class that has two or more) and drawn from the run's seed.
"""
from __future__ import annotations

import numpy as np

from ..data.scaling import Scaler
from ..data.sequences import pad
from .common import batches, bptt_epoch, last_step_outputs, rtrl1997_learner


def sort_classes(labels) -> list[str]:
    """Distinct labels, numerically ordered when they are all integers."""
    uniq = sorted(set(labels))
    try:
        return sorted(uniq, key=lambda s: int(s))
    except (TypeError, ValueError):
        return uniq


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, val = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        members = members[rng.permutation(members.size)]
        k = int(round(fraction * members.size))
        k = min(max(k, 1 if members.size >= 2 else 0), members.size - 1)
        val.append(members[:k])
        train.append(members[k:])
    train, val = np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
    if val.size == 0 or train.size == 0:
        raise ValueError(f"too few labelled sequences ({y.size}) to hold out a validation part; give more data")
    return train, val


class ClassifyTask:
    item_unit = "seq"

    def __init__(self, xs: list[np.ndarray], labels: list[str], cfg, classes: list[str] | None = None,
                 features: list[str] | None = None):
        if len(xs) != len(labels):
            raise ValueError(f"labels: {len(xs)} sequences but {len(labels)} labels; they must match")
        self.cfg = cfg
        self.classes = classes or sort_classes(labels)
        if len(self.classes) < 2:
            raise ValueError(f"labels: only one class ({self.classes[0]!r}); classification needs at least two")
        index = {c: i for i, c in enumerate(self.classes)}
        self.y = np.array([index[l] for l in labels], dtype=np.int64)
        self.train_idx, self.val_idx = stratified_split(self.y, cfg.val_fraction,
                                                        np.random.default_rng([cfg.seed, 2]))
        F = xs[0].shape[1]
        self.features = features or [f"x{j}" for j in range(F)]
        self.scaler = Scaler.fit(np.concatenate([xs[i] for i in self.train_idx]),
                                 names=[f"feature {f!r}" for f in self.features] if features else None)
        self.dtype = np.dtype(cfg.dtype)
        self.xs = [self.scaler.transform(s).astype(self.dtype) for s in xs]
        self.K = len(self.classes)
        self.loss = "half_sse" if cfg.algorithm == "rtrl1997" else "cross_entropy"
        self.activation = "logistic" if cfg.algorithm == "rtrl1997" else "softmax"
        self.items_per_epoch = int(self.train_idx.size)
        self._learner = None

    def _batch(self, idx: np.ndarray):
        x, lengths = pad([self.xs[i] for i in idx], self.dtype)                  # (T, b, F), (b,)
        T, b = x.shape[:2]
        tgt = np.zeros((T, b, self.K), dtype=self.dtype)
        mask = np.zeros((T, b), dtype=bool)
        tgt[lengths - 1, np.arange(b), self.y[idx]] = 1.0
        mask[lengths - 1, np.arange(b)] = True
        return x, lengths, tgt, mask

    def train_epoch(self, net, guard, rng, bar) -> dict:
        total, n = 0.0, 0
        if self.cfg.algorithm == "rtrl1997":
            if self._learner is None:
                self._learner = rtrl1997_learner(net, self.cfg)
            for k, i in enumerate(batches(self.train_idx.size, 1, rng)):
                guard.ctx.batch = k + 1
                x, lengths, tgt, mask = self._batch(self.train_idx[i])
                res = self._learner.train_sequence(x[:, 0], tgt[:, 0], mask[:, 0])
                value = res.loss / self.K
                guard.check_loss(value)
                total, n = total + value, n + 1
                bar.update(1)
            return {"train_loss": total / max(n, 1)}
        return bptt_epoch(net, guard, rng, bar, self.train_idx, self.cfg.batch_size, self._batch, self.loss)

    def outputs(self, net, xs: list[np.ndarray]) -> np.ndarray:
        """(n, K) outputs at each sequence's last step (already scaled inputs)."""
        return last_step_outputs(net, xs, self.dtype)

    def evaluate(self, net) -> dict:
        out = self.outputs(net, [self.xs[i] for i in self.val_idx])
        y = self.y[self.val_idx]
        if self.loss == "cross_entropy":
            loss = float(-np.mean(np.log(np.maximum(out[np.arange(y.size), y], 1e-300))))
        else:
            t = np.eye(self.K)[y]
            loss = float(0.5 * np.mean((out - t) ** 2))
        return {"val_loss": loss, "val_accuracy": float(np.mean(out.argmax(axis=1) == y))}

    def baselines(self) -> dict:
        counts = np.bincount(self.y[self.train_idx], minlength=self.K)
        major = int(counts.argmax())
        return {"majority": {"class": self.classes[major],
                             "accuracy": float(np.mean(self.y[self.val_idx] == major))}}

    def epoch_line(self, r: dict, epochs: int) -> str:
        return (f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.4f}  val loss {r['val_loss']:.4f}  "
                f"val accuracy {r['val_accuracy']:.4f}  ({r['seconds']:.1f} s)")

    def data_state(self) -> dict:
        return {"kind": "classify", "classes": self.classes, "features": self.features,
                "scaler": self.scaler.to_dict(), "sequences": int(self.y.size),
                "train_sequences": int(self.train_idx.size), "val_sequences": int(self.val_idx.size),
                "readout": self.activation}

    def summary(self, net, fit) -> dict:
        out = self.outputs(net, [self.xs[i] for i in self.val_idx])
        y, pred = self.y[self.val_idx], out.argmax(axis=1)
        cm = np.zeros((self.K, self.K), dtype=np.int64)
        np.add.at(cm, (y, pred), 1)
        val = {"accuracy": float(np.mean(pred == y)), "loss": fit.state.best_loss, "sequences": int(y.size),
               "classes": self.classes, "confusion_matrix": cm.tolist()}
        return {"validation": val, "baselines": self.baselines()}

    def report_lines(self, summary: dict) -> list[str]:
        v, b = summary["validation"], summary["baselines"]
        out = [f"validation ({v['sequences']} sequences, {self.K} classes):",
               f"  LSTM accuracy      {v['accuracy']:.4f}",
               f"  majority class     {b['majority']['accuracy']:.4f}  (always {b['majority']['class']!r})",
               "  confusion matrix (rows: true class, columns: predicted):"]
        names = [c[:8] for c in self.classes]
        if self.K <= 12:
            w = max(6, max(len(n) for n in names) + 1)
            out.append("  " + " " * w + "".join(f"{n:>{w}}" for n in names))
            for n, row in zip(names, v["confusion_matrix"]):
                out.append("  " + f"{n:>{w}}" + "".join(f"{c:>{w}}" for c in row))
        else:
            out.append("  (too many classes to print; see summary.json)")
        return out
