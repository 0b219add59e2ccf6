"""Parity of long binary sequences: the random-weight-guessing benchmark (paper Sections 5 and 6).

The 1997 paper reports that random weight guessing solves a variant of Bengio et al.'s parity
problem faster than the methods tested there, and that 500-step parity is quickly solved by
guessing but not by truncated LSTM with small initial weights. The protocol is that of the
companion paper (Hochreiter & Schmidhuber, NIPS'96, "LSTM can solve hard long time lag problems",
and its extended version on guessing): classify sequences of -1.0/+1.0 inputs according to whether
the number of +1's is odd (target 1.0) or even (target 0.0), the target at the sequence end only;
lengths random between 500 and 600; a sequence is classified correctly iff the absolute error at
the end is below 0.1. Training and test sets hold 100 sequences each, 50 per class
(:meth:`Parity.make_split`). A noisy variant adds uniform noise in [-0.2, 0.2] to every input
(``noise=0.2``).

Example:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("parity", min_length=8, max_length=12)
>>> batch = task.sample(np.random.default_rng(0), n=2)
>>> print(task.render(batch, 0))
odd (7 ones), length 12
x       +1 -1 -1 -1 +1 +1 +1 +1 +1 -1 +1 -1
target  1.00 at the end
>>> train, test = task.make_split(np.random.default_rng(1), n_train=6, n_test=4)
>>> train.meta["label"].tolist(), test.meta["label"].tolist()
([0, 0, 0, 1, 1, 1], [0, 1, 0, 1])

Choices the sources leave open, made here:

* **Lengths** are integers uniform in ``min_length .. max_length``, both ends included
  (default 500 .. 600); both are settings.
* **Inputs** are i.i.d. +1/-1 with probability 1/2 each, so the two classes are equally likely in
  ``sample``; ``make_split`` makes exactly balanced sets by fixing each sequence's class and, where
  the drawn bits have the other parity, flipping one uniformly chosen element (this keeps every
  string of the required parity equally likely).
* **Noise** (``noise`` > 0) is uniform in [-noise, noise], added to every input after the class is
  fixed; the class is the parity of the noise-free +1 count.
* **error** is |target - output| at the end.

``meta`` keys: ``label`` ((N,) 1 = odd number of +1's), ``ones`` ((N,) the number of +1's).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Batch, Task, _require, check_n, check_rng, last_step_mask, step_mask, uniform_lengths


@dataclass(frozen=True)
class Parity(Task):
    """Parity of a +-1 sequence, target 1 for an odd number of +1's; see the module docstring."""

    min_length: int = 500
    max_length: int = 600
    noise: float = 0.0     # half-width of uniform input noise (0.2 in the noisy variant)

    name = "parity"
    experiment = ""        # not one of the 1997 paper's numbered experiments
    tolerance = 0.1

    def __post_init__(self):
        _require(1 <= self.min_length <= self.max_length, "min_length, max_length",
                 "1 <= min_length <= max_length", (self.min_length, self.max_length))
        _require(self.noise >= 0.0, "noise", "a half-width >= 0", self.noise)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("x",)

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("odd",)

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        return self._sample(check_rng(rng), check_n(n), labels=None)

    def make_split(self, rng: np.random.Generator, n_train: int = 100,
                   n_test: int = 100) -> tuple[Batch, Batch]:
        """A training and a test set, each half odd, half even (in random order)."""
        rng = check_rng(rng)
        out = []
        for size in (check_n(n_train), check_n(n_test)):
            labels = rng.permutation(np.arange(size) % 2)
            out.append(self._sample(rng, size, labels))
        return out[0], out[1]

    def _sample(self, rng: np.random.Generator, n: int, labels) -> Batch:
        lengths = uniform_lengths(rng, n, self.min_length, self.max_length)
        T_max = int(lengths.max())
        cols = np.arange(n)
        valid = step_mask(lengths, T_max)
        bits = rng.integers(2, size=(T_max, n)) * valid              # 1 where the input is +1
        if labels is not None:
            flip = (bits.sum(axis=0) % 2) != labels
            where = (rng.random(n) * lengths).astype(np.int64)        # uniform step < length
            bits[where[flip], cols[flip]] ^= 1
        ones = bits.sum(axis=0)
        label = ones % 2
        x = (2.0 * bits - 1.0) * valid
        if self.noise:
            x += rng.uniform(-self.noise, self.noise, size=(T_max, n)) * valid
        y = np.zeros((T_max, n, 1))
        y[lengths - 1, cols, 0] = label
        return Batch(x=x[:, :, None], y=y, target_mask=last_step_mask(lengths, T_max),
                     lengths=lengths, meta={"label": label, "ones": ones})

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        values = " ".join(f"{v:+.0f}" if not self.noise else f"{v:+.2f}" for v in batch.x[:L, i, 0])
        kind = "odd" if batch.meta["label"][i] else "even"
        return (f"{kind} ({batch.meta['ones'][i]} ones), length {L}\nx       {values}\n"
                f"target  {batch.y[L - 1, i, 0]:.2f} at the end")
