"""Continual streams (Gers, Schmidhuber & Cummins 2000): tasks of the 1997 paper glued end to end, no reset.

The 1997 experiments reset the net before every string or sequence. Gers et al. (2000) concatenate them
into one stream that is never segmented: the net has to find the ends itself, which is what the forget
gate is for. A stream is cut into *units* (a string, a sequence) only for bookkeeping; the net sees
one symbol per step and no boundary marker beyond the grammar's own symbols.

``ContinualReber`` (CERG, Gers 2000 Sec. 4): embedded Reber strings (``tasks.reber``) one after another.
Inputs are the 7 symbols B T P S X V E, one-hot (here: their indices). The target at every step is
the set of *legal* next symbols, each coded 1 (two units on after a branch point), as in the
paper's criterion "all output errors < 0.49", which a 1/2-1/2 prediction of a one-hot target
could never meet. After a string's final E the only legal symbol is the next string's B.

``ContinualTemporalOrder`` (CNTO, Gers 2000 Sec. 5): noisy temporal order sequences of 1997's
Exp. 6b (``tasks.temporal_order``, 8 inputs E B a b c d X Y, 8 classes) one after another. The
paper's CNTO target protocol is UNCONFIRMED (only images of its Table 3 were found); ours: the
target is the class at the step that reads a sequence's trigger B (as in 6b) and there is no target
elsewhere; a unit (one sequence) is right when every output error there is below 0.3 (6b's ABS(0.3)).

A stream is drawn unit by unit from its own Generator, so what a stream holds depends only on that
Generator, never on how many steps a caller takes at a time; ``take(n)`` returns whole units, at
least n steps (fewer only where a stream has a last unit: ``max_units``).

Example (the symbol after each E is the next string's B; ``legal`` is the target):

>>> import numpy as np
>>> s = ContinualReber().stream(np.random.default_rng(3))
>>> p = s.take(20)
>>> p.text()
'BPBPVVEPEBPBTXXVVEPE'
>>> print(ContinualReber().render(p, 5, 12))
step    5  6  7  8  9  10 11
input   V  E  P  E  B  P  B
legal   E  P  E  B  TP B  TP
>>> p.unit_start.nonzero()[0].tolist(), p.n, s.steps
([0, 9], 20, 20)
>>> int(s.take(1).symbols[0]), s.units             # the next string starts with B
(0, 3)

CNTO: one target per sequence, at its trigger B:

>>> c = ContinualTemporalOrder(units=100).stream(np.random.default_rng(0))
>>> q = c.take(1)
>>> q.n, int(q.target_mask.sum()), q.text()[0], q.text()[-1], int(q.y[-1].argmax()) == int(q.labels[0])
(109, 1, 'E', 'B', True)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import reber
from .temporal_order import SYMBOLS as NTO_SYMBOLS
from .temporal_order import TemporalOrderB

_B = reber.SYMBOLS.index("B")


class Piece(NamedTuple):
    """Consecutive steps of a stream: whole units, time-major."""

    symbols: np.ndarray      # (n,) int64 input symbol index of each step
    y: np.ndarray            # (n, K) float64 targets (0 where target_mask is False)
    target_mask: np.ndarray  # (n,) bool: the step has a target (CERG: every step; CNTO: the triggers)
    unit_start: np.ndarray   # (n,) bool: the step reads the first symbol of a string / sequence
    labels: np.ndarray       # (units,) CNTO: the class of each sequence; CERG: empty
    alphabet: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.symbols.shape[0])

    def text(self) -> str:
        return "".join(self.alphabet[i] for i in self.symbols)


class _Stream:
    """An endless (or ``max_units``-long) stream drawn unit by unit from one Generator."""

    def __init__(self, draw, source, K: int, alphabet, max_units: int | None):
        self._draw, self.source, self.K, self.alphabet, self.max_units = draw, source, K, alphabet, max_units
        self.units = 0           # units handed out so far
        self.steps = 0           # steps handed out so far

    @property
    def finished(self) -> bool:
        return self.max_units is not None and self.units >= self.max_units

    def take(self, n: int) -> Piece:
        """The next whole units, at least ``n`` steps (fewer only at the stream's end)."""
        parts, got = [], 0
        while (got < n or not parts) and not self.finished:
            part = self._draw(self.source)
            parts.append(part)
            got += part[0].shape[0]
            self.units += 1
        if not parts:
            raise ValueError(f"stream: all {self.max_units} units were taken")
        self.steps += got
        sym = np.concatenate([p[0] for p in parts])
        start = np.zeros(sym.shape[0], dtype=bool)
        start[np.cumsum([0] + [p[0].shape[0] for p in parts[:-1]])] = True
        labels = np.array([p[3] for p in parts if p[3] is not None], dtype=np.int64)
        return Piece(sym, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
                     start, labels, self.alphabet)


class _Coins:
    """Fair coins from a Generator, drawn in blocks of 64, 128, ... 4096 (one call per coin cost more than
    training; most training streams end after a few symbols, so the first block is small)."""

    def __init__(self, rng: np.random.Generator):
        self.rng, self.buf, self.at, self.block = rng, [], 0, 64

    def __call__(self) -> int:
        if self.at == len(self.buf):
            self.buf, self.at = self.rng.integers(0, 2, size=self.block, dtype=np.int8).tolist(), 0
            self.block = min(2 * self.block, 4096)
        self.at += 1
        return self.buf[self.at - 1]


def _embedded_reber(coin) -> str:
    """One embedded Reber string (Fig. 4 of 1997): B, T|P, a Reber string (Fig. 3), the same T|P, E."""
    c = "TP"[coin()]
    out, state = ["B", c], 0
    while state != reber._END:
        edges = reber.REBER_AUTOMATON[state]
        symbol, state = edges[coin()] if len(edges) == 2 else edges[0]
        out.append(symbol)
    return "".join(out) + c + "E"


@functools.lru_cache(maxsize=8192)
def _reber_unit(string: str):
    """(symbols, targets, mask) of one string in the stream; short strings recur, so built once each."""
    ids, rows = reber._rows(string)                         # validated against the grammar
    y = np.zeros((ids.shape[0], 7))
    y[:-1] = rows
    y[-1, _B] = 1.0                                         # after E: the next string's B
    mask = np.ones(ids.shape[0], dtype=bool)
    for a in (y, mask):
        a.flags.writeable = False
    return ids, y, mask


@dataclass(frozen=True)
class ContinualReber:
    """CERG: embedded Reber strings concatenated; targets are the legal next symbols (see the module)."""

    name = "continual_reber"
    input_size = 7
    output_size = 7
    tolerance = 0.49          # a step is right when every |target - output| < 0.49 (Gers 2000)

    def unit(self, coin):
        """(symbols (L,), targets (L, 7), target_mask (L,), None) of one string; its last target is the B."""
        return (*_reber_unit(_embedded_reber(coin)), None)

    def stream(self, rng: np.random.Generator, max_units: int | None = None) -> _Stream:
        return _Stream(self.unit, _Coins(rng), 7, reber.SYMBOLS, max_units)

    def render(self, piece: Piece, start: int = 0, stop: int | None = None) -> str:
        stop = piece.n if stop is None else stop
        cols = range(start, stop)
        legal = ["".join(reber.SYMBOLS[k] for k in np.nonzero(piece.y[t])[0]) for t in cols]
        rows = [("step", [str(t) for t in cols]), ("input", [reber.SYMBOLS[piece.symbols[t]] for t in cols]),
                ("legal", legal)]
        return "\n".join(f"{name:<7} " + " ".join(f"{v:<2}" for v in vals).rstrip() for name, vals in rows)


@dataclass(frozen=True)
class ContinualTemporalOrder:
    """CNTO: 6b's noisy temporal order sequences concatenated, a target at each trigger B (see the module)."""

    units: int = 100          # sequences per stream (Gers 2000: 100)
    name = "continual_temporal_order"
    input_size = 8
    output_size = 8
    tolerance = 0.3           # 6b's criterion at each trigger step

    def unit(self, rng: np.random.Generator):
        b = TemporalOrderB().sample(rng, 1)
        L = int(b.lengths[0])
        return (b.meta["symbols"][:L, 0].astype(np.int64), b.y[:L, 0], b.target_mask[:L, 0].copy(),
                int(b.meta["label"][0]))

    def stream(self, rng: np.random.Generator, max_units: int | None = None) -> _Stream:
        return _Stream(self.unit, rng, 8, NTO_SYMBOLS, self.units if max_units is None else max_units)


STREAMS = {t.name: t for t in (ContinualReber(), ContinualTemporalOrder())}

__all__ = ["STREAMS", "ContinualReber", "ContinualTemporalOrder", "Piece"]
