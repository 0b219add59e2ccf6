"""The contract every recurrent cell family fulfils.

A cell family knows one layer of one direction: its parameters, its per-step equations (forward and
backward, as Numba kernels that loop over time inside one compiled call), and its state. Stacking,
directions, batch_first, masks from lengths and the readout live in ``lstmkit.network``; learning
rules live in ``lstmkit.learn``. Adding a cell means adding a file here and one registry entry.

Shapes (time-major, as everywhere inside lstmkit)::

    x       (T, B, I)     input sequence, C-contiguous, the cell's dtype
    mask    (T, B) bool   True where step t of sequence b is real; None means all real.
                          A masked step leaves every state array unchanged and outputs zeros,
                          the semantics of PyTorch's packed sequences.
    state   tuple of arrays, one per ``state_names`` entry, each (B, state_sizes[k])
    y       (T, B, output_size)

Backward receives ``dy`` (T, B, output_size) and ``dstate`` (a tuple like ``state``, or None) and
returns ``dx`` (T, B, I) and ``dstate0`` (tuple). It *accumulates* (+=) into ``grads`` (a dict with
the same keys and shapes as ``params``), so that several directions/chunks can share one buffer.
The gradient is that of ``sum(y * dy) + sum_k sum(stateT[k] * dstate[k])``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from .. import _validate as V


class Cell(ABC):
    """Base class: stores sizes/dtype/options and validates option names.

    Subclasses set ``name``, ``state_names``, ``DEFAULTS`` (option -> default; the comment on each
    default in the subclass says why) and implement the methods below.
    """

    name: ClassVar[str] = ""
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, input_size: int, hidden_size: int, dtype="float64", **options):
        unknown = sorted(set(options) - set(self.DEFAULTS))
        if unknown:
            known = ", ".join(sorted(self.DEFAULTS)) or "(none)"
            raise TypeError(
                f"cell {self.name!r}: unknown option(s) {', '.join(unknown)}; "
                f"this cell accepts: {known}"
            )
        # input_size 0 is allowed: Gers et al. (2002)'s periodic-function nets have no input.
        self.input_size = V.positive_int("input_size", input_size, minimum=0, maximum=V.MAX_SIZE)
        self.hidden_size = V.positive_int("hidden_size", hidden_size, maximum=V.MAX_SIZE)
        self.dtype = np.dtype(dtype)
        self.options = {**self.DEFAULTS, **options}
        self._check_options()

    # ------------------------------------------------------------------ to implement
    def _check_options(self) -> None:
        """Raise ValueError/TypeError for invalid option values (say expected, got, fix)."""

    @property
    def output_size(self) -> int:
        """Features of y per step (hidden_size unless the cell adds e.g. conventional units)."""
        return self.hidden_size

    state_names: tuple[str, ...] = ("h",)

    @abstractmethod
    def state_sizes(self) -> dict[str, int]:
        """Feature size of each state array."""

    @abstractmethod
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Ordered names and shapes of the parameters (equations in the subclass docstring)."""

    @abstractmethod
    def init_params(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Fill ``params`` in place (the subclass documents its initialisation)."""

    @property
    def stochastic(self) -> bool:
        """True when a training forward draws noise (dropout, zoneout): it then takes ``rng=``."""
        return False

    @abstractmethod
    def forward(self, params, x, state0, mask=None):
        """Return ``(y, stateT, cache)``; ``cache`` holds what backward needs.

        A ``stochastic`` cell also takes ``rng=`` (a Generator, the training forward's noise; None or
        absent evaluates), and its backward differentiates the forward with the masks that were drawn.
        """

    @abstractmethod
    def backward(self, params, cache, dy, dstate, grads, truncated: bool = False):
        """Return ``(dx, dstate0)``, accumulating weight gradients into ``grads``.

        ``truncated=True`` (cells that support it) gives the 1997 paper's truncated gradient:
        error reaching the net inputs of cells and gates is not sent back to earlier steps; it flows
        back in time only through the cell state (the CEC).
        """

    def internals(self, cache) -> dict[str, np.ndarray]:
        """Per-step gate activations and cell states of the last forward, each (T, B, n)."""
        return {}

    # ------------------------------------------------------------------ shared helpers
    def config(self) -> dict[str, Any]:
        return {"cell": self.name, **self.options}

    def zero_state(self, batch: int) -> tuple[np.ndarray, ...]:
        sizes = self.state_sizes()
        return tuple(np.zeros((batch, sizes[k]), dtype=self.dtype) for k in self.state_names)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if v != self.DEFAULTS.get(k))
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{', ' if opts else ''}{opts})"
