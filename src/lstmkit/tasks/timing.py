"""Timing and counting: the tasks of Gers, Schraudolph & Schmidhuber (2002), "Learning Precise Timing".

Five generators, each one input line (spikes, or nothing at all) and one output unit:

=================  ==========================================================  =========  ======
name               what the net must do                                        output     beta
=================  ==========================================================  =========  ======
msd                measure spike delays in one continual stream: output I(n)   identity   0.49
                   at the spike T(n) = T(n-1) + F + I(n)
nmsd               the same, one interval per sequence, the net reset between  identity   0.49
spike_50_49        msd with F = 49, I(n) in {0, 1}: spikes 49 or 50 steps      identity   0.49
                   apart, output 1 at a spike after 50 steps, 0 after 49
gts                generate a spike every F steps, no input                    logistic   0.49
pfg                generate a periodic function of period F, no input          identity   0.3
=================  ==========================================================  =========  ======

The paper's definitions as far as we could check them (lstm1997-facts §4.2; the paper's text beyond its
abstract was not available to us, so everything below the abstract's claims is our reading): spikes at
T(n) = T(n-1) + F + I(n) with I(n) drawn uniformly from {0, ..., i_max}; the target at T(n) is I(n);
the periodic functions are f_cos(t) = (1 - cos(2 pi t / F)) / 2 and a triangle and a rectangle of
period F; GTS and PFG get no input ("without external resets or teacher forcing", abstract).

Example: an MSD stream piece of 3 intervals (F = 4, I(n) in {0, 1}) and a cosine of period 8:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> msd = get_task("msd", F=4, intervals=3)
>>> b = msd.sample(np.random.default_rng(1), 1)
>>> print(msd.render(b, 0))
x       0 0 0 1 0 0 0 0 1 0 0 0 0 1
target  I(n) = 0 at t=3, 1 at t=8, 1 at t=13
>>> b.meta["spike_times"][0].tolist(), b.meta["delays"][:, 0].tolist()
([3, 8, 13], [0, 1, 1])
>>> pfg = get_task("pfg", F=8, periods=1)
>>> np.round(pfg.sample(np.random.default_rng(0), 1).y[:, 0, 0], 3).tolist()
[0.0, 0.146, 0.5, 0.854, 1.0, 0.854, 0.5, 0.146]
>>> gts = get_task("gts", F=4, periods=2)
>>> gts.sample(np.random.default_rng(0), 1).y[:, 0, 0].tolist()
[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]

Choices the paper leaves open (or that we could not check), made here:

* **Time origin.** Step 0 is the first step after a reset, and the reset counts as a spike at step -1:
  the first MSD interval ends at T(1) = F + I(1) - 1, a GTS spike is due at t = F - 1, 2F - 1, ...
  (F steps after the reset, then every F steps), and PFG's target at step t is f(t), so it starts at
  f(0) = 0. A continual stream is the concatenation of ``sample`` pieces: each piece ends with a spike,
  the next one goes on from there (train them with ``reset=False``).
* **Targets.** MSD has a target only at the spikes (I(n)); between spikes the output is free. GTS and
  PFG have a target at every step: 1 at a due spike and 0 elsewhere, or f(t).
* **NMSD** sequences start with a spike at step 0 (after the reset) and end with the next one at
  F + I: one interval, length F + I + 1, target I at the last step. Without the leading spike the
  reset alone would mark the interval's start, which is MSD's stream start, not a measurement.
* **Outputs.** MSD's targets go up to i_max, beyond a logistic unit's range: its output unit is
  linear (bnnlib's "gers02a" net, a third-party reimplementation, is linear too). GTS's output is
  logistic (facts §4.2, UNCONFIRMED), PFG's linear.
* **Correct** means the absolute error is below beta at every target step (MSD: every spike; GTS and
  PFG: every step); beta = 0.49 for spikes (round to the right integer), 0.3 for PFG (our reading
  of "error threshold 0.3": a maximum, not an RMS).
* **Triangle and rectangle** share the cosine's phase: the triangle rises linearly from 0 at t = 0 to
  1 at t = F/2 and falls back; the rectangle is 1 on the half period 1/4 <= t/F mod 1 < 3/4 (where
  f_cos > 1/2, and at its rising crossing of 1/2), else 0.
* **Spike delays** I(n) are independent and uniform over {0, ..., i_max}.

``meta`` keys: MSD/NMSD ``delays`` ((intervals, N) I(n)) and ``spike_times`` (list of (intervals,)
arrays, the target steps); GTS/PFG ``phase`` ((T, N) t mod F).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, _require, check_n, check_rng, step_mask

SHAPES = ("cos", "triangle", "rectangle")


# ------------------------------------------------------------------------------- the waves
def wave(shape: str, t: np.ndarray, F: int) -> np.ndarray:
    """The PFG target f(t) of period F (float64, same shape as t).

    >>> np.round(wave("cos", np.arange(4), 4), 12).tolist(), wave("rectangle", np.arange(4), 4).tolist()
    ([0.0, 0.5, 1.0, 0.5], [0.0, 1.0, 1.0, 0.0])
    >>> wave("triangle", np.arange(4), 4).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    u = np.mod(np.asarray(t, dtype=np.float64), F) / F                        # phase in [0, 1)
    if shape == "cos":
        return 0.5 * (1.0 - np.cos(2.0 * np.pi * u))                           # f_cos = (1 - cos(2 pi t/F))/2
    if shape == "triangle":
        return 1.0 - np.abs(1.0 - 2.0 * u)                                     # 0 at t = 0, 1 at t = F/2
    if shape == "rectangle":
        return ((u >= 0.25) & (u < 0.75)).astype(np.float64)                   # the half period around F/2
    raise ValueError(f"shape: expected one of {SHAPES}, got {shape!r}")


# ------------------------------------------------------------------------------- spike delays
@dataclass(frozen=True)
class MeasureSpikeDelays(Task):
    """MSD: a piece of a continual spike stream; the target at spike T(n) is I(n) (module docstring)."""

    F: int = 10            # the fixed part of every interval
    i_max: int = 1         # I(n) uniform in {0, ..., i_max}
    intervals: int = 10    # intervals (spikes with a target) per sequence

    name = "msd"
    experiment = "gers2002"
    output_activation = "identity"
    tolerance = 0.49
    lead_spike: ClassVar[bool] = False   # NMSD: a spike at step 0 opens the (only) interval

    def __post_init__(self):
        _require(self.F >= 1, "F", "an int >= 1", self.F)
        _require(self.i_max >= 0, "i_max", "an int >= 0", self.i_max)
        _require(self.intervals >= 1, "intervals", "an int >= 1", self.intervals)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("spike",)

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("delay",)

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        delays = rng.integers(self.i_max + 1, size=(self.intervals, n))       # I(n)
        gaps = self.F + delays                                                # T(n) - T(n-1)
        lead = int(self.lead_spike)
        # T(0) = lead - 1: step 0 for a leading spike, else the reset at step -1
        times = lead - 1 + np.cumsum(gaps, axis=0)                            # (intervals, N) T(n)
        lengths = (times[-1] + 1).astype(np.int64)
        T_max = int(lengths.max())
        cols = np.broadcast_to(np.arange(n), times.shape)
        x = np.zeros((T_max, n, 1))
        x[times, cols, 0] = 1.0                                               # input spikes at T(n)
        if lead:
            x[0, :, 0] = 1.0
        y = np.zeros((T_max, n, 1))
        y[times, cols, 0] = delays                                            # target I(n) at T(n)
        tm = np.zeros((T_max, n), dtype=bool)
        tm[times, cols] = True
        return Batch(x=x, y=y, target_mask=tm, lengths=lengths,
                     meta={"delays": delays, "spike_times": [times[:, i].copy() for i in range(n)]})

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        xs = " ".join(f"{v:.0f}" for v in batch.x[:L, i, 0])
        ts = batch.meta["spike_times"][i]
        ds = batch.meta["delays"][:, i]
        return f"x       {xs}\ntarget  I(n) = " + ", ".join(f"{d} at t={t}" for d, t in zip(ds, ts))


@dataclass(frozen=True)
class NonContinualSpikeDelays(MeasureSpikeDelays):
    """NMSD: one interval per sequence, opened by a spike at step 0; the net is reset between sequences."""

    intervals: int = 1

    name = "nmsd"
    lead_spike = True

    def __post_init__(self):
        super().__post_init__()
        _require(self.intervals == 1, "intervals", "1 (NMSD measures one interval per sequence)", self.intervals)


@dataclass(frozen=True)
class SpikeDiscrimination(MeasureSpikeDelays):
    """The 50-vs-49-steps discrimination: MSD with F = 49 and I(n) in {0, 1} (1 = 50 steps apart)."""

    F: int = 49
    i_max: int = 1
    intervals: int = 4

    name = "spike_50_49"


# ------------------------------------------------------------------------------- generators
@dataclass(frozen=True)
class _Generator(Task):
    """A target at every step and no input: the net runs free from its reset (module docstring)."""

    F: int = 10            # period in steps
    periods: int = 10      # periods per sequence

    experiment = "gers2002"

    def __post_init__(self):
        _require(self.F >= 2, "F", "an int >= 2", self.F)
        _require(self.periods >= 1, "periods", "an int >= 1", self.periods)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("none",)       # one input line that stays 0: the paper's net has one input unit

    def target(self, t: np.ndarray) -> np.ndarray:
        """The target at steps ``t`` (any shape, same shape out): each generator task defines its own."""
        raise NotImplementedError(f"{type(self).__name__} must define target(t); GTS and PFG do")

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        check_rng(rng)          # nothing random: every sequence is the same; rng kept for the contract
        n = check_n(n)
        T = self.F * self.periods
        t = np.broadcast_to(np.arange(T)[:, None], (T, n))
        y = self.target(t)[:, :, None].copy()
        lengths = np.full(n, T, dtype=np.int64)
        return Batch(x=np.zeros((T, n, 1)), y=y, target_mask=step_mask(lengths, T), lengths=lengths,
                     meta={"phase": np.mod(t, self.F)})

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        return f"no input, {L} steps\ntarget  " + " ".join(f"{v:.2f}" for v in batch.y[:L, i, 0])


@dataclass(frozen=True)
class GenerateTimedSpikes(_Generator):
    """GTS: output 1 at t = F - 1, 2F - 1, ... (a spike every F steps) and 0 elsewhere."""

    name = "gts"
    output_activation = "logistic"
    tolerance = 0.49

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("spike",)

    def target(self, t: np.ndarray) -> np.ndarray:
        return (np.mod(t, self.F) == self.F - 1).astype(np.float64)


@dataclass(frozen=True)
class PeriodicFunction(_Generator):
    """PFG: output f(t) (``shape`` cos, triangle or rectangle of period F) at every step."""

    shape: str = "cos"

    name = "pfg"
    output_activation = "identity"
    tolerance = 0.3

    def __post_init__(self):
        super().__post_init__()
        _require(self.shape in SHAPES, "shape", f"one of {SHAPES}", self.shape)

    @property
    def output_names(self) -> tuple[str, ...]:
        return (f"f_{self.shape}",)

    def target(self, t: np.ndarray) -> np.ndarray:
        return wave(self.shape, t, self.F)


__all__ = ["GenerateTimedSpikes", "MeasureSpikeDelays", "NonContinualSpikeDelays", "PeriodicFunction",
           "SHAPES", "SpikeDiscrimination", "wave"]
