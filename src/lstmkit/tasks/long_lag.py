"""Experiment 2: noise-free and noisy sequences with long time lags (tasks 2a, 2b, 2c).

**2a, noise-free, local regularities** (paper Section 5.2). There are p + 1 symbols
a_1 .. a_{p-1}, a_p = x, a_{p+1} = y, coded locally on p + 1 input and p + 1 output units (order
a1 .. a{p-1}, x, y). Only two sequences exist, each drawn with probability 1/2::

    (y, a_1, a_2, ..., a_{p-1}, y)      and      (x, a_1, a_2, ..., a_{p-1}, x)

The net predicts the next symbol at every step; to predict the last one it must keep the first for
p steps. Success: over 10,000 successive random sequences the maximal absolute error of all output
units is always below 0.25 (ABS(0.25) at every step; every prediction of 2a is deterministic).

**2b, no local regularities.** As 2a, but the middle is a random sequence of length p - 1 over
a_1 .. a_{p-1}: (y, a_i1, ..., a_i(p-1), y) or (x, a_i1, ..., a_i(p-1), x). Only the final symbol is
predictable; success is ABS(0.25) of all outputs *at the sequence end*.

**2c, very long lags, many distractors.** p + 4 symbols on p + 4 input units in the paper's order
a_1 .. a_p (distractors), e (trigger), b (start), x, y; **2 output units** (x, y). A sequence is
(b, x|y, a_i1 .. a_i(q+k), e, x|y), generated as: the prefix b, x|y, q random distractors; then
repeatedly append a random distractor with probability 9/10 or the trigger e with probability
1/10; after e, the second symbol again. The final symbol is the only target. Success: ABS(0.2)
of both outputs at the end (over 10,000 successive sequences in the paper).

Examples:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> rng = np.random.default_rng(0)
>>> a = get_task("long_lag_a", p=5)
>>> print(a.render(a.sample(rng, 1), 0))
input   y  a1 a2 a3 a4
target  a1 a2 a3 a4 y
>>> b = get_task("long_lag_b", p=5)
>>> print(b.render(b.sample(rng, 1), 0))
input   y  a3 a2 a2 a1
target  a3 a2 a2 a1 y
>>> c = get_task("long_lag_c", q=4, p=3)
>>> batch = c.sample(rng, 2)
>>> print(c.render(batch, 0))
input   b  x  a2 a2 a1 a3 a2 a2 a3 a3 a1 e
target  at the last step: x  (x, y) = (1, 0)
>>> c.input_names, c.output_names
(('a1', 'a2', 'a3', 'e', 'b', 'x', 'y'), ('x', 'y'))
>>> batch.meta["sequence_length"].tolist(), batch.lengths.tolist()   # steps = sequence length - 1
([13, 23], [12, 22])

Choices the paper leaves open, made here:

* **Steps (2a/2b).** A sequence has p + 1 elements and gives p steps: step t reads element t and
  its target is element t + 1 (one-hot over the p + 1 outputs). The final x|y is only a target.
* **Targets of 2b.** Like 2a, 2b predicts the next symbol at every step (``target_steps="all"``), so
  the random middle gives an irreducible error there; the success criterion and ``error`` look at
  the final step only. ``target_steps="last"`` keeps only the final target (available for 2a too).
  ``reference_outputs`` of 2b gives 1/(p-1) on each a_i at the random steps.
* **Middle of 2b / distractors of 2c** are drawn i.i.d. uniformly, with repetition, from
  a_1 .. a_{p-1} (2b) resp. a_1 .. a_p (2c); the paper's set notation "<= q" in 2c means p.
* **Steps (2c).** The final x|y is the target at the step that reads e; it is never an input.
  A sequence of the paper's length q + k + 4 therefore gives q + k + 3 steps (``lengths``);
  ``meta["sequence_length"]`` keeps q + k + 4.
* **Length of 2c.** The number k of extra distractors is geometric: P(k) = (9/10)^k (1/10), k >= 0,
  so the minimal length is q + 4 as the paper says, but the mean is q + 13 and each distractor
  occurs (q + 9)/p times on average. The paper states q + 14 and (q + 10)/p, which would need
  E[k] = 10 (one extra distractor always, which contradicts its minimum q + 4). This module follows
  the generation rule; ``continue_prob`` (default 0.9) is the probability of another distractor.
* **Outputs of 2c.** Unit 0 is x, unit 1 is y; the target is (1, 0) for x and (0, 1) for y.
* **error** of every variant is the ABS error: max |target - output| over the steps its criterion
  looks at (2a: all steps; 2b, 2c: the final step).

``meta`` keys: ``label`` ((N,) 0 = x, 1 = y: the symbol to remember), ``symbols`` ((T_max, N) input
symbol indices, -1 beyond the length); 2c also ``k`` ((N,) extra distractors) and
``sequence_length`` ((N,) q + k + 4).
The input arrays are dense one-hot codes: a batch of 2c with p = 1000 holds N * (q + 13) * 1004
floats (about 9 MB per sequence at q = 1000); sample large test sets in chunks, or feed
``meta["symbols"]`` to a network that gathers input-weight columns instead of multiplying.
"""
from __future__ import annotations

from abc import abstractmethod

from dataclasses import dataclass

import numpy as np

from .base import (Batch, Task, _require, check_n, check_rng, last_step_mask, one_hot,
                   step_mask)


@dataclass(frozen=True)
class _LocalCodeLag(Task):
    """Shared by 2a and 2b: p + 1 symbols, the first symbol repeated at the end."""

    p: int = 100                # p - 1 middle elements; p steps; the first symbol is kept p steps
    target_steps: str = "all"   # "all": next-symbol target at every step (paper); "last": only the end

    tolerance = 0.25

    def __post_init__(self):
        _require(self.p >= 2, "p", "an int >= 2 (p - 1 >= 1 middle symbols)", self.p)
        _require(self.target_steps in ("all", "last"), "target_steps", "'all' or 'last'",
                 self.target_steps)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f"a{i}" for i in range(1, self.p)) + ("x", "y")

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.input_names

    @abstractmethod
    def _middle(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(p - 1, n) indices 0 .. p-2 of a_1 .. a_{p-1}."""

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        p = self.p
        label = rng.integers(2, size=n)                                 # 0: x, 1: y
        first = (p - 1) + label                                          # index of x or y
        symbols = np.vstack([first[None, :], self._middle(rng, n), first[None, :]])   # (p + 1, n)
        lengths = np.full(n, p, dtype=np.int64)
        mask = step_mask(lengths, p) if self.target_steps == "all" else last_step_mask(lengths, p)
        y = one_hot(symbols[1:], p + 1) * mask[:, :, None]
        return Batch(x=one_hot(symbols[:-1], p + 1), y=y, target_mask=mask, lengths=lengths,
                     meta={"label": label, "symbols": symbols[:-1].copy()})

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        names = self.output_names
        cells = lambda row: "".join(f"{c:<3}" for c in row).rstrip()
        targets = [names[k] if m else "-" for k, m in
                   zip(batch.y[:L, i].argmax(axis=1), batch.target_mask[:L, i])]
        return "\n".join(["input   " + cells(names[k] for k in batch.meta["symbols"][:L, i]),
                          "target  " + cells(targets)])


@dataclass(frozen=True)
class LongLagA(_LocalCodeLag):
    """Task 2a: (x, a_1, ..., a_{p-1}, x) or (y, a_1, ..., a_{p-1}, y); see the module docstring."""

    name = "long_lag_a"
    experiment = "2a"

    def _middle(self, rng, n):
        return np.repeat(np.arange(self.p - 1)[:, None], n, axis=1)


@dataclass(frozen=True)
class LongLagB(_LocalCodeLag):
    """Task 2b: as 2a with a random middle; success at the end only (see the module docstring)."""

    name = "long_lag_b"
    experiment = "2b"

    def _middle(self, rng, n):
        return rng.integers(self.p - 1, size=(self.p - 1, n))

    def reference_outputs(self, batch: Batch) -> np.ndarray:
        """Random steps: 1/(p - 1) on each a_i; final step: the remembered symbol."""
        ref = batch.y.copy()
        random_steps = batch.target_mask & ~last_step_mask(batch.lengths, batch.x.shape[0])
        ref[random_steps] = 0.0
        ref[random_steps, : self.p - 1] = 1.0 / (self.p - 1)
        return ref

    def success_mask(self, batch: Batch) -> np.ndarray:
        return last_step_mask(batch.lengths, batch.x.shape[0])

    def reference_at(self, batch: Batch, t: np.ndarray, n: np.ndarray) -> np.ndarray:
        # the success steps are the last ones, where the reference is the target (the remembered symbol)
        return batch.y[t, n]


@dataclass(frozen=True)
class LongLagC(Task):
    """Task 2c: lag q + 1 between the remembered x|y and the trigger e, p distractor symbols."""

    q: int = 100                 # minimal number of distractors; minimal lag q + 1
    p: int = 100                 # number of distractor symbols
    continue_prob: float = 0.9   # probability of appending another distractor instead of e (paper: 9/10)

    name = "long_lag_c"
    experiment = "2c"
    tolerance = 0.2

    def __post_init__(self):
        _require(self.q >= 0, "q", "an int >= 0 (the minimal number of distractors)", self.q)
        _require(self.p >= 1, "p", "an int >= 1 (the number of distractor symbols)", self.p)
        _require(0.0 <= self.continue_prob < 1.0, "continue_prob",
                 "a probability in [0, 1) (the paper's is 0.9)", self.continue_prob)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f"a{i}" for i in range(1, self.p + 1)) + ("e", "b", "x", "y")

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("x", "y")

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        p, q = self.p, self.q
        E, B, X = p, p + 1, p + 2                                        # input unit indices
        label = rng.integers(2, size=n)                                  # 0: x, 1: y
        k = rng.geometric(1.0 - self.continue_prob, size=n) - 1          # extra distractors, >= 0
        lengths = (q + k + 3).astype(np.int64)                           # b, x|y, q + k distractors, e
        T_max = int(lengths.max())
        cols = np.arange(n)
        symbols = rng.integers(p, size=(T_max, n))                       # distractors a_1 .. a_p
        symbols[0] = B
        symbols[1] = X + label
        symbols[lengths - 1, cols] = E
        symbols[~step_mask(lengths, T_max)] = -1
        mask = last_step_mask(lengths, T_max)
        y = np.zeros((T_max, n, 2))
        y[lengths - 1, cols, label] = 1.0
        return Batch(x=one_hot(symbols, p + 4), y=y, target_mask=mask, lengths=lengths,
                     meta={"label": label, "k": k, "symbols": symbols,
                           "sequence_length": lengths + 1})

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        label = int(batch.meta["label"][i])
        cells = "".join(f"{self.input_names[s]:<3}" for s in batch.meta["symbols"][:L, i]).rstrip()
        return (f"input   {cells}\n"
                f"target  at the last step: {'xy'[label]}  (x, y) = {(1 - label, label)}")
