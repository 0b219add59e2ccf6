"""Experiment 6: temporal order (6a: two relevant symbols, 6b: three).

Paper (Section 5.6). Eight symbols E, B, a, b, c, d, X, Y are coded locally on 8 input units, in
that order. A sequence starts with E, ends with B (the trigger), and otherwise consists of random
symbols from {a, b, c, d}, except at positions t1, t2 (6b: also t3), which hold X or Y. The length
is random in [100, 110].

* **6a:** t1 in [10, 20], t2 in [50, 60]. Classes (X,X) -> Q, (X,Y) -> R, (Y,X) -> S, (Y,Y) -> U;
  4 output units Q R S U.
* **6b:** t1 in [10, 20], t2 in [33, 43], t3 in [66, 76]. Classes XXX Q, XXY R, XYX S, XYY U,
  YXX V, YXY A, YYX B, YYY C; 8 output units Q R S U V A B C.

The target, at the end only, is the one-hot code of the class. A sequence is classified correctly
iff the absolute error of *all* output units at the end is below 0.3 (ST3(0.1): average training
error below 0.1 and the 2000 most recent training sequences correct; then 2560 test sequences).

Example:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("temporal_order_a")
>>> batch = task.sample(np.random.default_rng(0), n=2)
>>> print(task.render(batch, 0))
length 109, X|Y at positions 12, 60 (1-based): Y X -> class S
EbaaccdccbcYcddaaabbaacbdbdbddcdcdbbcaccbccdbbcabbbdaccddcdXddcddddaccdbbaadbcadbbaabcdaadcdaadbcbbabdadbcacB
>>> batch.y[batch.lengths[0] - 1, 0].tolist()      # outputs Q R S U
[0.0, 0.0, 1.0, 0.0]

Choices the paper leaves open, made here:

* **Positions are 1-based**, as in the paper's text: E is at position 1, B at the last position
  L, and t1 in [10, 20] means the 10th to 20th element, i.e. steps 9 .. 19 (0-based). Minimal lags
  then match Table 10: 100 - 60 = 40 (6a) and 100 - 76 = 24 (6b). All ranges are inclusive.
* **Steps.** Element t is the input of step t (0-based); the target is at the step that reads B.
* **Draws.** Length, positions, X/Y choices and filler symbols are independent and uniform;
  classes are therefore equally likely.
* ``position_ranges`` and the lengths are settings; ranges must lie strictly between E and B of
  the shortest sequence and must not overlap. The number of ranges is fixed by the variant
  (2 for 6a, 3 for 6b).
* **error** is the ABS error: the largest |target - output| over the output units at the end.

``meta`` keys: ``label`` ((N,) class index in output order), ``positions`` ((N, K) 0-based steps of
the relevant symbols), ``relevant`` ((N, K) 0 = X, 1 = Y), ``symbols`` ((T_max, N) input symbol
indices, -1 beyond the length).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import (Batch, Task, _require, check_n, check_rng, last_step_mask, one_hot,
                   step_mask, uniform_lengths)

SYMBOLS = ("E", "B", "a", "b", "c", "d", "X", "Y")
_E, _B, _A, _X = 0, 1, 2, 6


@dataclass(frozen=True)
class _TemporalOrder(Task):
    """Shared by 6a and 6b: class = the X/Y sequence at the relevant positions, read as binary."""

    min_length: int = 100
    max_length: int = 110
    position_ranges: tuple[tuple[int, int], ...] = ()   # 1-based inclusive ranges of t1, t2, ...

    class_names: ClassVar[tuple[str, ...]] = ()
    tolerance = 0.3

    def __post_init__(self):
        _require(3 <= self.min_length <= self.max_length, "min_length, max_length",
                 "3 <= min_length <= max_length", (self.min_length, self.max_length))
        k = len(self.class_names).bit_length() - 1
        ranges = self.position_ranges
        _require(len(ranges) == k, "position_ranges", f"{k} (first, last) pairs for {self.name}",
                 ranges)
        prev = 1                                               # position of E
        for lo, hi in ranges:
            _require(prev < lo <= hi < self.min_length, "position_ranges",
                     f"increasing, non-overlapping 1-based ranges inside 2 .. {self.min_length - 1}",
                     ranges)
            prev = hi

    @property
    def input_names(self) -> tuple[str, ...]:
        return SYMBOLS

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.class_names

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        lengths = uniform_lengths(rng, n, self.min_length, self.max_length)
        T_max = int(lengths.max())
        cols = np.arange(n)
        symbols = rng.integers(_A, _A + 4, size=(T_max, n))          # fillers a, b, c, d
        symbols[0] = _E
        symbols[lengths - 1, cols] = _B
        K = len(self.position_ranges)
        positions = np.empty((n, K), dtype=np.int64)
        relevant = np.empty((n, K), dtype=np.int64)
        for k, (lo, hi) in enumerate(self.position_ranges):
            positions[:, k] = rng.integers(lo, hi + 1, size=n) - 1   # 1-based -> step index
            relevant[:, k] = rng.integers(2, size=n)                 # 0: X, 1: Y
            symbols[positions[:, k], cols] = _X + relevant[:, k]
        symbols[~step_mask(lengths, T_max)] = -1
        label = relevant @ (1 << np.arange(K - 1, -1, -1))           # first symbol = high bit
        y = np.zeros((T_max, n, len(self.class_names)))
        y[lengths - 1, cols, label] = 1.0
        return Batch(x=one_hot(symbols, len(SYMBOLS)), y=y,
                     target_mask=last_step_mask(lengths, T_max), lengths=lengths,
                     meta={"label": label, "positions": positions, "relevant": relevant,
                           "symbols": symbols})

    def render(self, batch: Batch, i: int) -> str:
        m = batch.meta
        pos = ", ".join(str(p + 1) for p in m["positions"][i])
        xy = " ".join("XY"[r] for r in m["relevant"][i])
        return (f"length {batch.lengths[i]}, X|Y at positions {pos} (1-based): {xy} -> class "
                f"{self.class_names[m['label'][i]]}\n{self._render_symbols(batch, i)}")


@dataclass(frozen=True)
class TemporalOrderA(_TemporalOrder):
    """Task 6a: two relevant symbols, 4 classes Q R S U; see the module docstring."""

    position_ranges: tuple[tuple[int, int], ...] = ((10, 20), (50, 60))

    name = "temporal_order_a"
    experiment = "6a"
    class_names = ("Q", "R", "S", "U")


@dataclass(frozen=True)
class TemporalOrderB(_TemporalOrder):
    """Task 6b: three relevant symbols, 8 classes Q R S U V A B C; see the module docstring."""

    position_ranges: tuple[tuple[int, int], ...] = ((10, 20), (33, 43), (66, 76))

    name = "temporal_order_b"
    experiment = "6b"
    class_names = ("Q", "R", "S", "U", "V", "A", "B", "C")
