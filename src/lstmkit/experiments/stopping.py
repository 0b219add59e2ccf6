"""The paper's stopping rules as objects (Table 11 and Sections 5.1-5.6).

A rule is a frozen dataclass holding its parameters (so experiment configs can hold it); ``rule.monitor()``
gives a fresh :class:`Monitor` that follows one trial. The trial feeds the monitor every training
sequence, in order, with the sequence's error and correctness *as seen while it was trained on*
(outputs before that sequence's own last weight change)::

    event = monitor.observe(n, error, correct)   # n = 1, 2, ... training sequences so far
    event is CONTINUE, STOP (the rule holds now), or TEST (run the rule's test now, then:)
    stop = monitor.judge(n, wrong, size, mean_error)

==========================  ===================================================================================
rule                        the paper's words, and the choice made where they leave something open
==========================  ===================================================================================
``ST3(beta)``               Exps 4, 6: "average training error below beta and the 2000 most recent sequences
                            processed correctly". Average training error = mean ``task.error`` (the absolute
                            end error) over those same 2000 sequences.
``NSeq(n_seq)``             Exp 5: "fewer than n_seq of the 2000 most recent training sequences" wrong.
``ST12(max_wrong, beta)``   Exp 3: every ``every`` sequences a fresh random test set of ``test_size`` (256); ST1 =
                            at most ``max_wrong`` misclassified (3a, 3c: 0; 3b: "fewer than 6", i.e. 5); ST2 =
                            ST1 and mean test error below beta (3a: 0.01, 3b: 0.04, 3c: 0.015). Stops at ST2 and
                            remembers where ST1 first held (``st1_at``), because Tables 4 and 5 report both.
``AllCorrect``          Exps 1, 2a-2c: every ``every`` sequences, if the ``window`` most recent training
                            sequences were all correct (a cheap pre-filter; 0 = no pre-filter), test with frozen
                            weights; stop when every test sequence is correct (1: all 512 training and test
                            strings; 2a-2c: ABS(beta) over 10,000 sequences).
==========================  ===================================================================================

Training budgets (Table 11's "after 5 million exemplars", or a budget the paper does not give) are the
trial's business (``Experiment.max_sequences``), not a rule's.

>>> m = ST3(beta=0.1, window=3).monitor()
>>> [m.observe(n, e, c) for n, (e, c) in enumerate([(0.5, False), (0.05, True), (0.05, True), (0.05, True)], 1)]
['continue', 'continue', 'continue', 'stop']
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

CONTINUE, TEST, STOP = "continue", "test", "stop"


class Monitor(ABC):
    """One trial's view of a rule: fed every training sequence in order."""

    @abstractmethod
    def observe(self, n: int, error: float, correct: bool) -> str:
        """Sequence ``n`` (1-based) was trained on with this error/correctness; CONTINUE, TEST or STOP."""

    def judge(self, n: int, wrong: int, size: int, mean_error: float) -> bool:
        """The test asked for by TEST gave ``wrong`` of ``size`` and this mean error; True = stop."""
        raise RuntimeError(f"{type(self).__name__} never asks for a test")

    def details(self) -> dict:
        """Extra numbers the rule records (e.g. where ST1 first held)."""
        return {}


class Rule(ABC):
    """Parameters of a stopping rule; ``monitor()`` follows one trial."""

    needs_test = False       # True if the rule asks for tests of frozen weights during training
    test_size = 0            # size of those tests
    early_exit = False       # True if a test can stop at its first wrong sequence (only "all correct" matters)

    @abstractmethod
    def monitor(self) -> Monitor:
        ...

    @abstractmethod
    def describe(self) -> str:
        """Short name for tables, e.g. 'ST3(0.01)'."""


def _positive(name: str, value, kind=int):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if kind is int and int(value) != value:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return kind(value)


class _Window:
    """The most recent ``size`` (error, correct) pairs with running sums (O(1) per sequence)."""

    def __init__(self, size: int):
        self.size = size
        self.errors = np.zeros(size)
        self.wrong = np.zeros(size, dtype=bool)
        self.count = 0          # sequences seen
        self.n_wrong = 0        # wrong among the most recent min(count, size)
        self.sum = 0.0          # error sum of the same; recomputed now and then against rounding drift

    def push(self, error: float, correct: bool) -> None:
        slot = self.count % self.size
        if self.count >= self.size:
            self.n_wrong -= int(self.wrong[slot])
            self.sum -= self.errors[slot]
        self.errors[slot] = error
        self.wrong[slot] = not correct
        self.n_wrong += int(not correct)
        self.sum += error
        self.count += 1
        if self.count % self.size == 0:
            self.sum = float(self.errors.sum())   # exact again once per window

    @property
    def full(self) -> bool:
        return self.count >= self.size

    @property
    def mean(self) -> float:
        return self.sum / min(self.count, self.size)


# ------------------------------------------------------------------------------------------- ST3
@dataclass(frozen=True)
class ST3(Rule):
    """ST3(beta): mean training error of the last ``window`` sequences < beta and none of them wrong."""

    beta: float
    window: int = 2000

    def __post_init__(self):
        _positive("beta", self.beta, float)
        _positive("window", self.window)

    def monitor(self) -> Monitor:
        return _ST3Monitor(self)

    def describe(self) -> str:
        return f"ST3({self.beta:g})"


class _ST3Monitor(Monitor):
    def __init__(self, rule: ST3):
        self.rule, self.win = rule, _Window(rule.window)

    def observe(self, n, error, correct):
        self.win.push(float(error), bool(correct))
        w = self.win
        if w.full and w.n_wrong == 0 and w.mean < self.rule.beta:
            return STOP
        return CONTINUE


# ------------------------------------------------------------------------------------------- n_seq
@dataclass(frozen=True)
class NSeq(Rule):
    """Fewer than ``n_seq`` of the last ``window`` training sequences wrong (Exp 5)."""

    n_seq: int
    window: int = 2000

    def __post_init__(self):
        _positive("n_seq", self.n_seq)
        _positive("window", self.window)

    def monitor(self) -> Monitor:
        return _NSeqMonitor(self)

    def describe(self) -> str:
        return f"n_seq={self.n_seq}"


class _NSeqMonitor(Monitor):
    def __init__(self, rule: NSeq):
        self.rule, self.win = rule, _Window(rule.window)

    def observe(self, n, error, correct):
        self.win.push(float(error), bool(correct))
        if self.win.full and self.win.n_wrong < self.rule.n_seq:
            return STOP
        return CONTINUE


# ------------------------------------------------------------------------------------------- ST1 / ST2
@dataclass(frozen=True)
class ST12(Rule):
    """Exp 3's ST1 (at most ``max_wrong`` of ``test_size`` misclassified) and ST2 (ST1, mean error < beta)."""

    max_wrong: int
    beta: float
    test_size: int = 256
    every: int = 500

    needs_test = True

    def __post_init__(self):
        if isinstance(self.max_wrong, bool) or not isinstance(self.max_wrong, int) or self.max_wrong < 0:
            raise ValueError(f"max_wrong: expected an int >= 0, got {self.max_wrong!r}")
        _positive("beta", self.beta, float)
        _positive("test_size", self.test_size)
        _positive("every", self.every)

    def monitor(self) -> Monitor:
        return _ST12Monitor(self)

    def describe(self) -> str:
        return f"ST1+ST2({self.beta:g})"


class _ST12Monitor(Monitor):
    def __init__(self, rule: ST12):
        self.rule = rule
        self.next = rule.every
        self.st1_at: int | None = None

    def observe(self, n, error, correct):
        if n >= self.next:
            self.next = n - n % self.rule.every + self.rule.every
            return TEST
        return CONTINUE

    def judge(self, n, wrong, size, mean_error):
        st1 = wrong <= self.rule.max_wrong
        if st1 and self.st1_at is None:
            self.st1_at = n
        return bool(st1 and mean_error < self.rule.beta)

    def details(self):
        return {"sequences_st1": self.st1_at}


# ------------------------------------------------------------------------------------------- test all correct
@dataclass(frozen=True)
class AllCorrect(Rule):
    """Every ``every`` sequences (after ``window`` correct training sequences in a row), test; stop at 0 wrong."""

    test_size: int
    every: int = 100
    window: int = 0            # pre-filter: the most recent ``window`` training sequences all correct

    needs_test = True
    early_exit = True

    def __post_init__(self):
        _positive("test_size", self.test_size)
        _positive("every", self.every)
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 0:
            raise ValueError(f"window: expected an int >= 0, got {self.window!r}")

    def monitor(self) -> Monitor:
        return _AllCorrectMonitor(self)

    def describe(self) -> str:
        return f"all {self.test_size} correct"


class _AllCorrectMonitor(Monitor):
    def __init__(self, rule: AllCorrect):
        self.rule = rule
        self.next = rule.every
        self.run = 0          # correct training sequences in a row

    def observe(self, n, error, correct):
        self.run = self.run + 1 if correct else 0
        if n >= self.next:
            self.next = n - n % self.rule.every + self.rule.every
            if self.run >= self.rule.window:
                return TEST
        return CONTINUE

    def judge(self, n, wrong, size, mean_error):
        return wrong == 0


RULES = {c.__name__: c for c in (ST3, NSeq, ST12, AllCorrect)}

__all__ = ["CONTINUE", "TEST", "STOP", "Monitor", "Rule", "ST3", "NSeq", "ST12", "AllCorrect", "RULES"]
