"""Experiment 4: the adding problem (and the marked-pairs sequences Experiment 5 reuses).

Paper (Section 5.4). Each element is a pair (value, marker); the input units are in that order.
The value is uniform in [-1, 1]; the marker is 1.0, 0.0 or -1.0. Lengths are random in
[T, T + T/10]. Exactly two pairs are marked with 1.0: "we first randomly select and mark one of
the first ten pairs (whose first component we call X1). Then we randomly select and mark one of the
first T/2 - 1 still unmarked pairs (whose first component we call X2). The second components of
all remaining pairs are zero except for the first and final pair, whose second components are -1.
(In the rare case where the first pair of the sequence gets marked, we set X1 to zero.)" The
target, at the end only, is 0.5 + (X1 + X2)/4, the sum scaled to [0, 1]. A sequence is processed
correctly iff the absolute error at the end is below 0.04 (ST3(0.01): average training error
below 0.01 and the 2000 most recent training sequences all correct; then 2560 test sequences).
Minimal lag: the latest possible X2 is at step T/2 - 1 and the shortest sequence ends at step
T - 1, T/2 steps later (50 for T = 100, as in Table 10).

Example:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("adding", T=20)
>>> batch = task.sample(np.random.default_rng(0), n=2)
>>> print(task.render(batch, 0))
length 22, X1 = +0.46 (step 3), X2 = +0.83 (step 2), target 0.8211
marker  -1  0 +1 +1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0 -1
value  -.46 -.97 +.83 +.46 +.87 -.99 -.93 -.65 +.08 -.15 -.75 +.29 -.23 +.96 +.30 -.22 +.44 -.38 +.78 -.28 -.36 -.32

Choices the paper leaves open, made here:

* **Lengths** are integers drawn uniformly from T .. T + floor(T/10), both ends included. T/2 is
  floor(T/2). Steps are 0-based: pair t is the input of step t; the target is at the last step.
* **X1** is at a step i1 drawn uniformly from 0 .. 9 (the first ten pairs).
* **"One of the first T/2 - 1 still unmarked pairs"**: list the pairs in order, leave out the one
  marked for X1, keep the first T/2 - 1 of the rest, draw one uniformly. While i1 < T/2 - 1 (always
  for T >= 22) this is uniform on {0, ..., T/2 - 1} minus {i1}, so X2 may come before X1.
* **The first pair.** Marking takes precedence over the first pair's -1, so every sequence has
  exactly two +1 markers (at most one of them at step 0, and never at the last step, which T >= 12
  guarantees). When the first pair is marked -- by the X1 draw (probability 1/10) or, following
  the paper's "the first pair gets marked", by the X2 draw -- its value is set to 0 (Experiment 5:
  1.0) both in the input and in the target. Otherwise its marker is -1. The last pair's marker is
  always -1.
* **Values** are drawn for every pair, including unmarked ones and the -1-marked first and last.
* **error** is |target - output| at the end (the absolute error ST3 averages); ``squared_error``
  gives (target - output)^2.

``meta`` keys: ``i1``, ``i2`` ((N,) steps of the pairs marked for X1 and X2), ``X1``, ``X2`` ((N,)
their values as used in the target).
"""
from __future__ import annotations

from abc import abstractmethod

from dataclasses import dataclass

import numpy as np

from .base import (Batch, Task, _require, check_n, check_rng, last_step_mask, step_mask,
                   uniform_lengths)


@dataclass(frozen=True)
class MarkedPairs(Task):
    """Sequences of (value, marker) pairs with two marked values; subclasses define values and target."""

    T: int = 100   # minimal length; lengths are uniform in T .. T + T // 10

    tolerance = 0.04
    value_range = (-1.0, 1.0)     # values are uniform in this interval
    first_pair_value = 0.0        # value of the first pair when it is marked

    def __post_init__(self):
        _require(self.T >= 12, "T",
                 "an int >= 12 (the first ten pairs, a later last pair, and T/2 - 1 >= 1)", self.T)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("value", "marker")

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("target",)

    @abstractmethod
    def target(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        """The target of each sequence from its two marked values (adding: 0.5 + (X1+X2)/4)."""

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        lengths = uniform_lengths(rng, n, self.T, self.T + self.T // 10)
        T_max = int(lengths.max())
        cols = np.arange(n)
        valid = step_mask(lengths, T_max)
        values = rng.uniform(*self.value_range, size=(T_max, n))
        values *= valid
        i1 = rng.integers(10, size=n)                              # one of the first ten pairs
        j = rng.integers(self.T // 2 - 1, size=n)                   # j-th still unmarked pair ...
        i2 = j + (j >= i1)                                          # ... skipping the X1 pair
        values[0, (i1 == 0) | (i2 == 0)] = self.first_pair_value
        markers = np.zeros((T_max, n))
        markers[0] = -1.0
        markers[lengths - 1, cols] = -1.0
        markers[i1, cols] = 1.0                                     # marks override the first -1
        markers[i2, cols] = 1.0
        X1, X2 = values[i1, cols], values[i2, cols]
        y = np.zeros((T_max, n, 1))
        y[lengths - 1, cols, 0] = self.target(X1, X2)
        return Batch(x=np.stack([values, markers], axis=2), y=y,
                     target_mask=last_step_mask(lengths, T_max),
                     lengths=lengths, meta={"i1": i1, "i2": i2, "X1": X1, "X2": X2})

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        m = batch.meta
        fmt = lambda v: f"{v:+.2f}".replace("0.", ".", 1)
        return "\n".join([
            f"length {L}, X1 = {m['X1'][i]:+.2f} (step {m['i1'][i]}), "
            f"X2 = {m['X2'][i]:+.2f} (step {m['i2'][i]}), target {batch.y[L - 1, i, 0]:.4f}",
            "marker " + "".join(f"{int(v):>3}" if v <= 0 else " +1" for v in batch.x[:L, i, 1]),
            "value  " + " ".join(fmt(v) for v in batch.x[:L, i, 0]),
        ])


@dataclass(frozen=True)
class Adding(MarkedPairs):
    """Experiment 4: target 0.5 + (X1 + X2)/4 at the end; see the module docstring."""

    name = "adding"
    experiment = "4"

    def target(self, X1, X2):
        return 0.5 + (X1 + X2) / 4.0
