"""Numerical health: non-finite losses and gradients, and the 1997 cell's internal state drift.

State drift (Hochreiter & Schmidhuber 1997, Section 4; Gers et al. 2000): without a forget gate the
cell state s(t) = s(t-1) + y_in g(net_c) only accumulates. On a continual stream with no resets it
grows without bound, the output squashing h saturates, h'(s) -> 0 blocks the error, and the cell
degenerates into an ordinary unit. :class:`DriftMonitor` watches the cell states of a network over a
stream and says when that happens: the share of cells whose squashing derivative has fallen below
1 % of its maximum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations as act


class NumericalError(FloatingPointError):
    """Training produced a non-finite value; the message says where and what to try."""


def check_finite(what: str, value, step: int | None = None, hint: str = "") -> None:
    """Raise :class:`NumericalError` if ``value`` (a number or array) holds NaN or Inf."""
    a = np.asarray(value)
    if np.isfinite(a).all():
        return
    where = f" at step {step}" if step is not None else ""
    kind = "NaN" if np.isnan(a).any() else "Inf"
    raise NumericalError(f"{what} became {kind}{where}; "
                         f"{hint or 'lower the learning rate or enable gradient clipping (clip_norm)'}")


def _state_key_and_activation(net):
    """The internals key of the cell state and the output squashing of each recurrent layer."""
    rnn = getattr(net, "rnn", net)
    cell = rnn.cells[0]
    if rnn.cell_name == "lstm1997":
        return "s", act.get(cell.options["h"])
    if rnn.cell_name == "lstm":
        return "c", act.get(cell.options["cell_output_activation"])
    return None, None


@dataclass
class DriftReport:
    steps: int                 # stream steps observed
    max_abs_state: float       # largest |cell state| seen
    saturated_fraction: float  # share of cells whose squashing derivative is < 1 % of its maximum now
    drifting: bool             # saturated_fraction >= the monitor's threshold

    def message(self) -> str:
        if not self.drifting:
            return (f"cell states healthy after {self.steps} steps (max |state| {self.max_abs_state:.3g}, "
                    f"{self.saturated_fraction:.0%} of cells saturated)")
        return (f"internal state drift after {self.steps} steps: max |state| {self.max_abs_state:.3g}, "
                f"{self.saturated_fraction:.0%} of cells have a squashing derivative below 1% of its maximum, "
                f"so error no longer reaches them; reset the state between sequences, bias the input gates "
                f"negative (the paper's remedy) or use a forget gate (cell='lstm')")


class DriftMonitor:
    """Feed it the network after each forward over a chunk of a continual stream; ask for a report."""

    def __init__(self, net, threshold: float = 0.5):
        self.net, self.threshold = net, threshold
        self.key, self.squash = _state_key_and_activation(net)
        self.steps, self.max_abs, self.saturated = 0, 0.0, 0.0

    def observe(self) -> DriftReport:
        internals = self.net.internals()
        states = [v for k, v in internals.items() if k.endswith("." + self.key)] if self.key else []
        self.steps += next(iter(internals.values())).shape[0] if internals else 0
        if states:
            last = np.concatenate([s[-1].ravel() for s in states])
            self.max_abs = max(self.max_abs, float(np.abs(np.concatenate([s.ravel() for s in states])).max()))
            if self.squash.name == "identity":
                self.saturated = 0.0        # h(s) = s never saturates (the paper's other drift remedy)
            else:
                d = self.squash.deriv_from_output(self.squash(last))
                d_max = self.squash.deriv_from_output(self.squash(np.zeros(1)))[0]
                self.saturated = float(np.mean(d < 0.01 * d_max))
        return self.report()

    def report(self) -> DriftReport:
        return DriftReport(self.steps, self.max_abs, self.saturated, self.saturated >= self.threshold)
