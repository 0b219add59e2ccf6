"""Experiment 5: the multiplication problem.

Paper (Section 5.5): as the adding problem (Experiment 4, ``lstmkit.tasks.adding``), except that
the values are uniform in [0, 1], that X1 = 1.0 if the first pair is marked, and that the target
at the end is X1 * X2. Inputs (value, marker) in that order; lengths random in [T, T + T/10]; the
first and last markers -1; exactly two pairs marked 1.0, one of the first ten (X1) and one of the
first T/2 - 1 still unmarked pairs (X2). A sequence counts as wrong iff its absolute error at the
end exceeds 0.04; the paper tests on 2560 sequences once fewer than n_seq (140 or 13) of the 2000
most recent training sequences are wrong.

Example:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("multiplication", T=20)
>>> batch = task.sample(np.random.default_rng(0), n=2)
>>> print(task.render(batch, 0))
length 22, X1 = +0.73 (step 3), X2 = +0.91 (step 2), target 0.6659
marker  -1  0 +1 +1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0 -1
value  +.27 +.02 +.91 +.73 +.94 +.00 +.03 +.18 +.54 +.42 +.12 +.65 +.38 +.98 +.65 +.39 +.72 +.31 +.89 +.36 +.32 +.34

Choices the paper leaves open: exactly those of the adding problem (see its module docstring),
with 1.0 instead of 0 as the value of a marked first pair. The success criterion is "absolute
error < 0.04" as in Experiment 4 (the paper's "> 0.04 is wrong" differs only on a set of
measure zero). ``error`` is |target - output| at the end.

``meta`` keys: as the adding problem (``i1``, ``i2``, ``X1``, ``X2``).
"""
from __future__ import annotations

from dataclasses import dataclass

from .adding import MarkedPairs


@dataclass(frozen=True)
class Multiplication(MarkedPairs):
    """Experiment 5: values in [0, 1], target X1 * X2 at the end; see the module docstring."""

    name = "multiplication"
    experiment = "5"
    value_range = (0.0, 1.0)
    first_pair_value = 1.0

    def target(self, X1, X2):
        return X1 * X2
