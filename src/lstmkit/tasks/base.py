"""The task contract: a parametrised generator of variable-length sequences and its success criterion.

A task is a small frozen dataclass. Its fields are the task's settings (e.g. ``T`` of the adding
problem); one default instance per task sits in ``lstmkit.tasks.TASKS``, and
``task.with_params(T=500)`` (or ``get_task("adding", T=500)``) returns a new instance with validated
settings. Everything random comes from the ``numpy.random.Generator`` passed to ``sample``.

``sample(rng, n)`` returns a :class:`Batch` in lstmkit's time-major layout::

    x            (T_max, N, I) float64   inputs, zero beyond each sequence's length
    y            (T_max, N, K) float64   targets, zero where there is no target
    target_mask  (T_max, N) bool         True where a target exists (the error signal)
    lengths      (N,) int64              number of real steps of each sequence
    meta         dict                    task-specific extras (labels, positions, strings, ...)

``T_max = lengths.max()``. A sequence occupies steps ``0 .. lengths[i] - 1``; step t of the network
reads ``x[t]`` and its outputs at step t are compared with ``y[t]`` where ``target_mask[t]``.

Criteria, all per sequence, all taking ``outputs`` of shape (T_max, N, K) (the network's logistic
outputs; values at padded steps are ignored):

``correct(batch, outputs)``  (N,) bool, the paper's success criterion of that experiment.
    Unless a task says otherwise it is the paper's ABS(beta): the absolute error of every output unit
    at every step the criterion looks at (``success_mask``) is below ``tolerance``.
``error(batch, outputs)``  (N,) float64, the error the paper's stopping rules average.
    Unless a task says otherwise it is the ABS error itself: the largest absolute difference between
    ``reference_outputs`` and the outputs over the ``success_mask`` steps and all output units (for
    tasks with one output and a target at the end: |target - output| at the end).
``squared_error(batch, outputs)``  (N,) float64: sum over target steps and output units of
    (y - output)^2, i.e. the paper's E(t) summed over the sequence (the training loss is half of it).
``reference_outputs(batch)``  (T_max, N, K): what a perfect network outputs. Usually ``y``; differs
    where targets are random draws (Reber: the probabilities of the legal next symbols; 3c: the
    noise-free targets).

Example (any registered task works the same way):

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("adding", T=20)
>>> batch = task.sample(np.random.default_rng(0), n=3)
>>> batch.x.shape, batch.y.shape, batch.target_mask.shape, batch.lengths.tolist()
((22, 3, 2), (22, 3, 1), (22, 3), [22, 21, 21])
>>> task.correct(batch, task.reference_outputs(batch)).tolist()
[True, True, True]
"""
from __future__ import annotations

import dataclasses
import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


# ---------------------------------------------------------------------------------------- batch
@dataclass(frozen=True, eq=False)   # eq=False: arrays have no single truth value
class Batch:
    """Variable-length sequences, time-major and zero-padded (shapes in the module docstring)."""

    x: np.ndarray            # (T_max, N, I) float64 inputs, zero-padded
    y: np.ndarray            # (T_max, N, K) float64 targets, zero where target_mask is False
    target_mask: np.ndarray  # (T_max, N) bool, True where an error signal exists
    lengths: np.ndarray      # (N,) int64 real steps per sequence
    meta: dict = field(default_factory=dict)  # task-specific extras, documented by each task

    def __post_init__(self):
        # Cheap consistency checks: a wrong batch would otherwise surface as a confusing shape
        # error deep inside a training loop.
        x, y, m, n = self.x, self.y, self.target_mask, self.lengths
        if x.ndim != 3 or y.ndim != 3 or m.ndim != 2 or n.ndim != 1:
            raise ValueError(
                f"Batch: expected x (T, N, I), y (T, N, K), target_mask (T, N), lengths (N,); got "
                f"x{x.shape}, y{y.shape}, target_mask{m.shape}, lengths{n.shape}"
            )
        if not (x.shape[:2] == y.shape[:2] == m.shape and n.shape[0] == x.shape[1]):
            raise ValueError(
                f"Batch: the leading (T, N) dimensions differ: x{x.shape}, y{y.shape}, "
                f"target_mask{m.shape}, lengths{n.shape}; build all four from the same sequences"
            )
        if m.dtype != np.bool_ or n.dtype != np.int64:
            raise TypeError(
                f"Batch: expected target_mask bool and lengths int64, got {m.dtype} and {n.dtype}"
            )

    @property
    def n(self) -> int:
        """Number of sequences N."""
        return self.x.shape[1]

    @property
    def step_mask(self) -> np.ndarray:
        """(T_max, N) bool: True where step t is a real step of sequence i (t < lengths[i])."""
        return step_mask(self.lengths, self.x.shape[0])


# ---------------------------------------------------------------------------------------- helpers
def check_n(n) -> int:
    """Validate the number of sequences requested from ``sample``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n: expected a positive int (number of sequences), got {n!r}")
    return int(n)


def check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng: expected a numpy.random.Generator, got {type(rng).__name__}; "
            f"pass np.random.default_rng(seed)"
        )
    return rng


def uniform_lengths(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """(n,) int64 lengths drawn uniformly from the integers lo..hi, both ends included."""
    return rng.integers(lo, hi + 1, size=n).astype(np.int64)


def step_mask(lengths: np.ndarray, T_max: int) -> np.ndarray:
    """(T_max, N) bool: True for t < lengths[i]."""
    return np.arange(T_max)[:, None] < lengths[None, :]


def last_step_mask(lengths: np.ndarray, T_max: int) -> np.ndarray:
    """(T_max, N) bool: True only at t = lengths[i] - 1."""
    m = np.zeros((T_max, lengths.shape[0]), dtype=bool)
    m[lengths - 1, np.arange(lengths.shape[0])] = True
    return m


def one_hot(symbols: np.ndarray, size: int) -> np.ndarray:
    """(T, N, size) float64 one-hot codes of integer symbols (T, N); entries < 0 (padding) give zeros."""
    out = np.zeros(symbols.shape + (size,), dtype=np.float64)
    t, b = np.nonzero(symbols >= 0)
    out[t, b, symbols[t, b]] = 1.0
    return out


def final(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """values[lengths[i] - 1, i]: the last real step of each sequence; (T, N, ...) -> (N, ...)."""
    return values[lengths - 1, np.arange(lengths.shape[0])]


def _require(ok: bool, arg: str, expected: str, got: Any) -> None:
    """Raise ValueError naming the setting, what it must be and what came."""
    if not ok:
        raise ValueError(f"{arg}: expected {expected}, got {got!r}")


def _coerce(name: str, current: Any, new: Any) -> Any:
    """Return ``new`` converted to the type of the setting's current value, or raise TypeError."""
    def fail(kind: str):
        raise TypeError(
            f"{name}: expected {kind} (the type of this setting), got {type(new).__name__} {new!r}"
        )

    if isinstance(current, bool):
        if not isinstance(new, (bool, np.bool_)):
            fail("a bool")
        return bool(new)
    if isinstance(current, numbers.Integral):
        if isinstance(new, (bool, np.bool_)) or not isinstance(new, numbers.Integral):
            fail("an int")
        return int(new)
    if isinstance(current, numbers.Real):
        if isinstance(new, (bool, np.bool_)) or not isinstance(new, numbers.Real):
            fail("a real number")
        return float(new)
    if isinstance(current, str):
        if not isinstance(new, str):
            fail("a str")
        return new
    if isinstance(current, tuple):
        if not isinstance(new, (tuple, list)):
            fail("a tuple")
        if current and isinstance(current[0], tuple):   # tuple of tuples, e.g. position ranges
            if not all(isinstance(item, (tuple, list)) for item in new):
                fail("a tuple of tuples")
            return tuple(tuple(_coerce(name, current[0][0], v) for v in item) for item in new)
        return tuple(new)
    return new


# ---------------------------------------------------------------------------------------- task
@dataclass(frozen=True)
class Task(ABC):
    """Base class of every task; subclasses are frozen dataclasses whose fields are the settings.

    Subclasses set the class attributes below, implement ``input_names``, ``output_names`` and
    ``sample``, validate their settings in ``__post_init__``, and override ``reference_outputs``,
    ``success_mask``, ``correct`` or ``error`` where the paper's criterion differs from ABS(beta).
    """

    name: ClassVar[str] = ""                  # registry key
    experiment: ClassVar[str] = ""            # the 1997 paper's experiment id ("1", "2c", ...), "" if none
    output_activation: ClassVar[str] = "logistic"  # every output unit of the paper is logistic
    tolerance: ClassVar[float] = 0.0          # beta of the ABS(beta) criterion
    inclusive: ClassVar[bool] = False         # correct iff error < beta (False) or <= beta (True)

    # ------------------------------------------------------------------ to implement
    @property
    @abstractmethod
    def input_names(self) -> tuple[str, ...]:
        """Name of each input unit, in input-vector order."""

    @property
    @abstractmethod
    def output_names(self) -> tuple[str, ...]:
        """Name of each output unit, in output-vector order."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        """Draw n sequences (see the module docstring for the layout)."""

    # ------------------------------------------------------------------ sizes and settings
    @property
    def input_size(self) -> int:
        return len(self.input_names)

    @property
    def output_size(self) -> int:
        return len(self.output_names)

    def params(self) -> dict[str, Any]:
        """The settings as a plain dict (save it next to results)."""
        return dataclasses.asdict(self)

    def with_params(self, **overrides) -> "Task":
        """A copy with some settings changed; each name must be a setting and keep its type."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            known = ", ".join(fields) or "(none)"
            raise TypeError(
                f"task {self.name!r}: unknown setting(s) {', '.join(unknown)}; "
                f"this task's settings are: {known}"
            )
        coerced = {k: _coerce(k, getattr(self, k), v) for k, v in overrides.items()}
        return dataclasses.replace(self, **coerced)

    # ------------------------------------------------------------------ criteria
    def reference_outputs(self, batch: Batch) -> np.ndarray:
        """(T_max, N, K): the outputs of a perfect network (here: the targets)."""
        return batch.y.copy()

    def success_mask(self, batch: Batch) -> np.ndarray:
        """(T_max, N) bool: the steps the success criterion looks at (here: the target steps)."""
        return batch.target_mask

    def reference_at(self, batch: Batch, t: np.ndarray, n: np.ndarray) -> np.ndarray:
        """``reference_outputs(batch)[t, n]``: the rows the criteria read, (len(t), K).

        Where the reference is the target (this class's), read the rows of ``y`` instead of copying the whole
        (T_max, N, K) array: for 2a's dense batches (100 x 100 x 101) that copy was most of the criteria's
        time (benchmarks/bench_trial_time.py). A task whose reference differs only off its success steps
        overrides this the same way (2b).
        """
        if type(self).reference_outputs is Task.reference_outputs:
            return batch.y[t, n]
        return self.reference_outputs(batch)[t, n]

    def abs_error(self, batch: Batch, outputs: np.ndarray) -> np.ndarray:
        """(N,) largest |reference - output| over the success-mask steps and all output units."""
        outputs = self._check_outputs(batch, outputs)
        mask = self.success_mask(batch)
        if type(self).reference_outputs is Task.reference_outputs and mask.mean() > 0.25:
            # dense success steps (2a: every step): one pass over the arrays beats gathering their rows;
            # the same maximum, as |.| >= 0 and a max propagates NaN
            return np.where(mask, np.abs(batch.y - outputs).max(axis=2), 0.0).max(axis=0)
        t, n = np.nonzero(mask)                              # only these steps: often one per sequence
        diff = np.abs(self.reference_at(batch, t, n) - outputs[t, n]).max(axis=1)   # (steps,)
        err = np.zeros(outputs.shape[1])
        np.maximum.at(err, n, diff)                          # NaN propagates, as in a max
        return err

    def correct(self, batch: Batch, outputs: np.ndarray) -> np.ndarray:
        """(N,) bool: the paper's ABS(beta) criterion with beta = ``tolerance``."""
        err = self.abs_error(batch, outputs)
        return err <= self.tolerance if self.inclusive else err < self.tolerance

    def error(self, batch: Batch, outputs: np.ndarray) -> np.ndarray:
        """(N,) float64 per-sequence error for stopping rules (here: the ABS error)."""
        return self.abs_error(batch, outputs)

    def criteria(self, batch: Batch, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(correct(batch, outputs), error(batch, outputs))``, with the ABS error computed once when both
        are this class's (a trial asks for both after every chunk of training sequences)."""
        if type(self).correct is Task.correct and type(self).error is Task.error:
            err = self.abs_error(batch, outputs)
            return (err <= self.tolerance if self.inclusive else err < self.tolerance), err
        return self.correct(batch, outputs), self.error(batch, outputs)

    def squared_error(self, batch: Batch, outputs: np.ndarray) -> np.ndarray:
        """(N,) sum over target steps and output units of (y - output)^2."""
        outputs = self._check_outputs(batch, outputs)
        sq = ((batch.y - outputs) ** 2).sum(axis=2)
        return np.where(batch.target_mask, sq, 0.0).sum(axis=0)

    # ------------------------------------------------------------------ display
    def render(self, batch: Batch, i: int) -> str:
        """One sequence as text: the inputs, then the targets."""
        L = int(batch.lengths[i])
        x, y, m = batch.x[:L, i], batch.y[:L, i], batch.target_mask[:L, i]
        lines = [f"inputs  ({', '.join(self.input_names)}) per step:"]
        lines += ["  " + " ".join(f"{v:+.2f}" for v in row) for row in x]
        lines.append(f"targets ({', '.join(self.output_names)}):")
        lines += [f"  t={t}: " + " ".join(f"{v:.2f}" for v in y[t]) for t in np.nonzero(m)[0]]
        return "\n".join(lines)

    def _render_symbols(self, batch: Batch, i: int) -> str:
        """Symbols of a one-hot input sequence, joined without spaces when all names are 1 char."""
        L = int(batch.lengths[i])
        names = [self.input_names[k] for k in batch.x[:L, i].argmax(axis=1)]
        sep = "" if all(len(s) == 1 for s in self.input_names) else " "
        return sep.join(names)

    def _check_outputs(self, batch: Batch, outputs) -> np.ndarray:
        outputs = np.asarray(outputs, dtype=np.float64)
        if outputs.shape != batch.y.shape:
            raise ValueError(
                f"outputs: expected shape {batch.y.shape} (T_max, N, K) like batch.y, got "
                f"{outputs.shape}; pass the network's outputs for every step of this batch"
            )
        return outputs
