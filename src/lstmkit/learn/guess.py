"""Random weight guessing: the paper's warning that some "long time lag" benchmarks are trivial.

Protocol (Hochreiter & Schmidhuber, NIPS'96 companion paper; the 1997 paper, Section 5.3 and 6)::

    repeat: draw every weight uniformly in [-w, w] (w = 100)
            evaluate the net on the training set (the caller's ``success`` predicate)
    until solved or the budget of trials is spent

The number of trials (weight vectors drawn, the successful one included) is the cost the paper
reports (e.g. 2906 trials for parity with architecture A1). Every weight is guessed, biases and
output weights included. Deterministic for a given ``rng`` state. On success the net keeps the
solving weights; otherwise it keeps the last guess.

>>> import numpy as np
>>> from lstmkit import LSTM, Network, Readout
>>> net = Network(LSTM(1, 1, cell="rnn", nonlinearity="logistic"), Readout(1, 1, "logistic"))
>>> res = guess(net, lambda n: True, np.random.default_rng(0))
>>> res.trials, res.solved
(1, True)
"""
from __future__ import annotations

from collections.abc import Callable
from numbers import Real
from typing import NamedTuple

import numpy as np


class GuessResult(NamedTuple):
    trials: int       # weight vectors drawn, the successful one included
    solved: bool


def guess(net, success: Callable[[object], bool], rng: np.random.Generator, *, w: float = 100.0,
          max_trials: int = 1_000_000) -> GuessResult:
    """Draw ``net.flat`` uniformly in [-w, w] until ``success(net)`` or ``max_trials`` draws."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"guess: rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        f"pass np.random.default_rng(seed)")
    if isinstance(w, bool) or not isinstance(w, Real) or not w > 0:
        raise ValueError(f"guess: w must be a positive number (weights are drawn in [-w, w]), got {w!r}")
    if isinstance(max_trials, bool) or not isinstance(max_trials, (int, np.integer)) or max_trials < 1:
        raise ValueError(f"guess: max_trials must be a positive int, got {max_trials!r}")
    flat = net.flat
    for trial in range(1, int(max_trials) + 1):
        flat[...] = rng.uniform(-w, w, size=flat.shape)
        if success(net):
            return GuessResult(trial, True)
    return GuessResult(int(max_trials), False)
