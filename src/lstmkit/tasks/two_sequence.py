"""Experiment 3: noise and signal on one input line (Bengio et al.'s 2-sequence problem; 3a, 3b, 3c).

**3a** (paper Section 5.3). One real-valued input line, two classes of probability 1/2 each. Only
the first N elements carry information: they are all +1.0 (class 1) or all -1.0 (class 2). Every
later element is Gaussian noise with mean 0 and variance 0.2. The length is random in
[T, T + T/10]. The target, at the end only, is 1.0 for class 1 and 0.0 for class 2. A sequence is
classified correctly iff the absolute error at the end is below 0.2 (stopping rules: ST1 = no
misclassification in 256 test sequences, ST2 = ST1 and mean absolute test error < 0.01).

**3b.** As 3a, with Gaussian noise (mean 0, variance 0.2) added to the informative elements too
(ST1: fewer than 6 of 256 misclassified; ST2: ST1 and mean absolute error < 0.04).

**3c.** As 3a (informative elements noise-free), but the targets are 0.2 (class 1) and 0.8
(class 2) plus Gaussian noise of mean 0 and variance 0.1, so the net must learn the conditional
expectation. A sequence is misclassified iff |output - noise-free target| > 0.1; the mean absolute
difference to the noise-free target must fall below 0.015.

Example:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("two_sequence_a", T=10, N=3)
>>> batch = task.sample(np.random.default_rng(0), n=2)
>>> print(task.render(batch, 0))
class 2, length 11
x       -1.00 -1.00 -1.00 -0.31 -0.28 -1.04 -0.56 -0.24 +0.18 -0.06 -0.30
target  0.00 at the end
>>> c = get_task("two_sequence_c", T=10, N=1)
>>> batch = c.sample(np.random.default_rng(1), n=3)
>>> batch.meta["cls"].tolist(), batch.meta["target_clean"].tolist()
([2, 1, 1], [0.8, 0.2, 0.2])
>>> np.round(batch.y[batch.target_mask, 0], 3).tolist()       # noisy targets, variance 0.1
[0.637, -0.321, 0.253]

Choices the paper leaves open, made here:

* **Lengths** are integers drawn uniformly from T .. T + floor(T/10), both ends included
  (T = 100: 100 .. 110). Bengio et al.'s extra length T/2 is not used.
* **Steps.** Element t of the sequence is the input of step t; the target is at the last step.
* **Class labels.** ``meta["cls"]`` is the paper's class number, 1 (+1 inputs) or 2 (-1 inputs).
* **3c criterion.** Correct iff |output - noise-free target| <= 0.1 ("misclassified means > 0.1"),
  so ``inclusive`` is True there; 3a/3b use the strict "< 0.2".
* **error** is |reference - output| at the end: the absolute error for 3a/3b, and the absolute
  difference to the noise-free target for 3c (what ST2 and 3c's stopping rule average).
  ``squared_error`` of 3c measures against the noisy targets the net is trained on.
* Noise variances are variances: the standard deviations are sqrt(0.2) and sqrt(0.1). 3c's noisy
  targets are not clipped, so they leave [0, 1] now and then (as above); a logistic output cannot
  reach them, which is the point of the task (it must output the conditional expectation).

``meta`` keys: ``cls`` ((N,) 1 or 2), ``target_clean`` ((N,) the noise-free target).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import (Batch, Task, _require, check_n, check_rng, last_step_mask, step_mask,
                   uniform_lengths)

NOISE_VAR = 0.2          # variance of the Gaussian noise on the input line
TARGET_NOISE_VAR = 0.1   # variance of the Gaussian noise on 3c's targets


def render_real_line(batch: Batch, i: int, label: str) -> str:
    """A one-input sequence on one line, with its target at the end."""
    L = int(batch.lengths[i])
    values = " ".join(f"{v:+.2f}" for v in batch.x[:L, i, 0])
    return f"{label}, length {L}\nx       {values}\ntarget  {batch.y[L - 1, i, 0]:.2f} at the end"


@dataclass(frozen=True)
class _TwoSequence(Task):
    """Shared by 3a, 3b, 3c; subclasses choose the informative elements and the targets."""

    T: int = 100   # minimal length; lengths are uniform in T .. T + T // 10
    N: int = 3     # number of informative elements at the start

    tolerance = 0.2
    noisy_information = False                  # 3b: noise on the first N elements as well
    clean_targets = (1.0, 0.0)                 # noise-free target of class 1, class 2
    target_noise_var = 0.0                     # 3c: variance of the noise on the targets

    def __post_init__(self):
        _require(self.T >= 1, "T", "an int >= 1 (the minimal length)", self.T)
        _require(1 <= self.N <= self.T, "N", f"an int in 1 .. T = {self.T}", self.N)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("x",)

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("class_1",)

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        lengths = uniform_lengths(rng, n, self.T, self.T + self.T // 10)
        T_max = int(lengths.max())
        cls = rng.integers(1, 3, size=n)                                   # paper's class 1 or 2
        sign = np.where(cls == 1, 1.0, -1.0)
        x = rng.normal(0.0, math.sqrt(NOISE_VAR), size=(T_max, n))
        if self.noisy_information:
            x[: self.N] += sign
        else:
            x[: self.N] = sign
        x *= step_mask(lengths, T_max)
        clean = np.where(cls == 1, *self.clean_targets)
        target = clean
        if self.target_noise_var:
            target = clean + rng.normal(0.0, math.sqrt(self.target_noise_var), size=n)
        cols = np.arange(n)
        y = np.zeros((T_max, n, 1))
        y[lengths - 1, cols, 0] = target
        return Batch(x=x[:, :, None], y=y, target_mask=last_step_mask(lengths, T_max),
                     lengths=lengths, meta={"cls": cls, "target_clean": clean})

    def reference_outputs(self, batch: Batch) -> np.ndarray:
        """The noise-free target at the end (equal to ``y`` unless targets are noisy)."""
        ref = np.zeros_like(batch.y)
        ref[batch.lengths - 1, np.arange(batch.n), 0] = batch.meta["target_clean"]
        return ref

    def render(self, batch: Batch, i: int) -> str:
        return render_real_line(batch, i, f"class {batch.meta['cls'][i]}")


@dataclass(frozen=True)
class TwoSequenceA(_TwoSequence):
    """Task 3a: first N elements +-1, noise elsewhere, target 1/0 at the end."""

    name = "two_sequence_a"
    experiment = "3a"


@dataclass(frozen=True)
class TwoSequenceB(_TwoSequence):
    """Task 3b: as 3a with noise of variance 0.2 on the informative elements too."""

    name = "two_sequence_b"
    experiment = "3b"
    noisy_information = True


@dataclass(frozen=True)
class TwoSequenceC(_TwoSequence):
    """Task 3c: targets 0.2/0.8 plus noise of variance 0.1; judged against the noise-free target."""

    name = "two_sequence_c"
    experiment = "3c"
    tolerance = 0.1
    inclusive = True
    clean_targets = (0.2, 0.8)
    target_noise_var = TARGET_NOISE_VAR

