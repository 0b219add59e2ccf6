"""Compile the kernels ahead of use, so the first real call of a process does not wait for Numba.

Numba compiles a kernel on its first call and keeps the machine code in its on-disk cache
(``lstmkit._numba``: next to the sources, NUMBA_CACHE_DIR, or lstmkit's fallback directory). On an
empty cache the first forward + backward of a small modern LSTM waits seconds for the compiler, and
``lstmkit reproduce`` for many more; afterwards every process loads the machine code in a fraction of a
second. :func:`warm` runs each family of kernels once on a tiny input, in float32 and float64, so the
cache holds what the main job (``lstmkit reproduce``) and ordinary training use. The README's set-up
commands run it (``lstmkit warmup``); a later call finds everything cached and takes about a second.

``WARMUPS[name]`` is a function of a dtype name that calls one family's kernels; adding a kernel
family means adding an entry here.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

DTYPES = ("float32", "float64")


def _modern(dtype: str) -> None:
    """The standard LSTM cell: fast kernels (training, inference, truncated), masks, the reference kernels."""
    from . import LSTM
    from .cells import lstm_fast

    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(dtype)
    for opts in ({"kernel": "fast"}, {"kernel": "reference"}, {"variant": "vanilla"}):
        net = LSTM(3, 4, dtype=dtype, seed=0, **opts)
        y, _ = net.forward(x, lengths=np.array([5, 3]))
        net.backward(np.ones_like(y))
        net.backward(np.ones_like(y), truncated=True)
    net = LSTM(3, 16, dtype=dtype, seed=0)                    # H >= 16: the register-tile path
    y, _ = net.forward(x)
    net.backward(np.ones_like(y))
    lstm_fast.forward(net.cells[0], net._cell_params[0].params, x, None, None, need_cache=False)


def _cells_1997_and_rnn(dtype: str) -> None:
    """The 1997 cell (blocks, forget gate, peepholes) and the vanilla RNN, exact and truncated backward."""
    from . import LSTM

    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(dtype)
    for cell, opts in (("lstm1997", {"block_size": 2, "forget_gate": True, "peepholes": True}), ("rnn", {})):
        net = LSTM(3, 4, cell=cell, dtype=dtype, seed=0, **opts)
        y, _ = net.forward(x, lengths=np.array([5, 3]))
        net.backward(np.ones_like(y))
        if cell != "rnn":
            net.backward(np.ones_like(y), truncated=True)


def _rtrl1997(dtype: str) -> None:
    """The paper's online rule: dense inputs and one-hot input indices, training and evaluation."""
    if dtype != "float64":                                    # the 1997 rule runs in float64 only
        return
    from . import LSTM, Network, Readout
    from .learn.rtrl1997 import RTRL1997

    net = Network(LSTM(3, 4, cell="lstm1997", block_size=2, seed=0), Readout(4, 2, "logistic", seed=1))
    learner = RTRL1997(net, lr=0.5)
    x, y = np.zeros((10, 3)), np.zeros((10, 2))
    learner.train_sequence(x, y, None)
    idx = np.array([0, 1, 2, -1, 0, 1, 2, -1, 0, 1])
    learner.train_sequence(None, y, None, input_indices=idx)
    learner.evaluate(None, y, None, input_indices=idx)


def _baselines(dtype: str) -> None:
    """Full RTRL, Elman and BPTT on a small vanilla net (the paper's baselines)."""
    if dtype != "float64":
        return
    from . import LSTM, Network, Readout
    from .learn.algorithms import ALGORITHMS

    x, y = np.zeros((6, 2)), np.zeros((6, 1))
    for name in ("rtrl", "elman", "bptt"):
        net = Network(LSTM(2, 3, cell="rnn", seed=0), Readout(3, 1, "logistic", seed=1))
        ALGORITHMS[name].train_sequence(net, x, y, None, lr=0.1)


WARMUPS: dict[str, Callable[[str], None]] = {
    "lstm": _modern,
    "cells": _cells_1997_and_rnn,
    "rtrl1997": _rtrl1997,
    "baselines": _baselines,
}


def warm(names=None, dtypes=DTYPES) -> dict[str, float]:
    """Run the warm-ups ``names`` (default all) in each dtype; return seconds per warm-up."""
    unknown = [n for n in (names or ()) if n not in WARMUPS]
    if unknown:
        raise ValueError(f"unknown warm-up {unknown[0]!r}; expected one of {', '.join(map(repr, WARMUPS))}")
    seconds = {}
    for name in names or WARMUPS:
        t0 = time.perf_counter()
        for dtype in dtypes:
            WARMUPS[name](dtype)
        seconds[name] = time.perf_counter() - t0
    return seconds
