"""Experiment 1: next-symbol prediction on the embedded Reber grammar (ERG).

Paper (Section 5.1, Figs. 3 and 4). The Reber grammar (Fig. 3) is the automaton below; every state
with two outgoing edges takes each with probability 1/2::

    state 0 --B--> 1
    state 1 --T--> 2    state 1 --P--> 3
    state 2 --S--> 2    state 2 --X--> 4
    state 3 --T--> 3    state 3 --V--> 5
    state 4 --X--> 3    state 4 --S--> 6
    state 5 --P--> 4    state 5 --V--> 6
    state 6 --E--> end

An embedded Reber string (Fig. 4) is ``B c <Reber string> c E`` with c = T or P (probability 1/2
each), e.g. ``BTBTXSETE`` (the shortest length, 9) or ``BPBPVPSEPE``. The net reads one symbol per step
and predicts the next one; to predict the symbol before last it must remember the second symbol
over the whole inner string. Symbols are coded locally: 7 input and 7 output units in the order
B T P S X V E. The paper trains on 256 strings and tests on 256 others (Fahlman's protocol),
training exemplars drawn at random from the training set; see :func:`make_split`.

Success (paper): "all string symbols of both test set and training set are predicted correctly --
that is, the output unit(s) corresponding to the possible next symbol(s) is (are) always the most
active ones".

Example:

>>> import numpy as np
>>> from lstmkit.tasks import get_task
>>> task = get_task("embedded_reber")
>>> batch = task.sample(np.random.default_rng(2), n=2)
>>> batch.meta["strings"]
['BPBTSSSXXTTVVEPE', 'BPBPTVPSEPE']
>>> print(task.render(batch, 1))
step    0  1  2  3  4  5  6  7  8  9
input   B  P  B  P  T  V  P  S  E  P
target  P  B  P  T  V  P  S  E  P  E
legal   TP B  TP TV TV PV SX E  P  E
>>> batch.x.shape, batch.lengths.tolist()
((15, 2, 7), [15, 10])
>>> task.correct(batch, task.reference_outputs(batch)).tolist()
[True, True]
>>> task.correct(batch, batch.y).tolist()    # one-hot of the drawn symbol misses the other legal one
[False, False]

Choices the paper leaves open, made here:

* **Steps.** A string of length L gives L - 1 steps: step t reads symbol t (0-based) and its target
  is symbol t + 1 (one-hot). The final E is only a target; nothing is predicted after it.
* **Targets vs. criterion.** Targets are the symbols that actually come next (that is what the net
  is trained on); the success criterion uses the *set* of legal next symbols, kept in
  ``meta["legal_next"]``. ``reference_outputs`` gives the ideal prediction: 1/2 on each of two legal
  symbols, 1 on a single legal symbol (all branches have probability 1/2).
* **"Most active".** A step is predicted correctly iff every legal next symbol's output is strictly
  greater than every illegal symbol's output (the legal units are the top-|legal| units; a tie
  counts as wrong). No absolute threshold is applied (Fahlman's and Cleeremans' threshold variants
  are not the paper's words). A sequence is correct iff all its steps are.
* **error** is the mean over steps of E(t) = sum_k (y_k - out_k)^2 against the actual next symbol
  (the paper has no error-based stopping rule for this task; success is the criterion above).
* **Training/test split.** :func:`make_split` draws the 256 training strings i.i.d. from the grammar
  (duplicates allowed, as in a random sample; ``unique=True`` forbids them) and then draws test
  strings i.i.d., rejecting any string that occurs in the training set ("the test set excludes
  strings in the training set").

``meta`` keys: ``strings`` (list of str, the whole strings), ``legal_next`` ((T_max, N, 7) bool),
``symbols`` ((T_max, N) int input symbol indices, -1 beyond the length).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .base import Batch, Task, check_n, check_rng, one_hot, step_mask

SYMBOLS = ("B", "T", "P", "S", "X", "V", "E")
_INDEX = {s: i for i, s in enumerate(SYMBOLS)}

# Fig. 3 as a deterministic automaton: state -> ((symbol, next state), ...). State 7 is the end.
REBER_AUTOMATON: dict[int, tuple[tuple[str, int], ...]] = {
    0: (("B", 1),),
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
    6: (("E", 7),),
}
_END = 7


def reber_string(rng: np.random.Generator) -> str:
    """One string of the (plain) Reber grammar, e.g. 'BTXSE'."""
    state, out = 0, []
    while state != _END:
        edges = REBER_AUTOMATON[state]
        symbol, state = edges[int(rng.integers(2))] if len(edges) == 2 else edges[0]
        out.append(symbol)
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One embedded Reber string: B, T|P, a Reber string, the same T|P, E."""
    c = "T" if rng.integers(2) == 0 else "P"
    return "B" + c + reber_string(rng) + c + "E"


def legal_next(string: str) -> list[frozenset[str]]:
    """Legal next symbols after each of the first len(string) - 1 symbols of an embedded Reber string.

    Raises ValueError if the string is not an embedded Reber string.
    """
    n = len(string)
    if n < 9 or string[0] != "B" or string[1] not in "TP" or string[-2:] != string[1] + "E":
        raise ValueError(f"string: expected an embedded Reber string like 'BTBTXSETE', got {string!r}")
    legal = [frozenset("TP"), frozenset("B")]          # after the outer B, after the outer T|P
    state = 0
    for pos in range(2, n - 2):                        # the inner Reber string
        moves = dict(REBER_AUTOMATON.get(state, ()))
        if string[pos] not in moves:
            raise ValueError(
                f"string: {string!r} is not an embedded Reber string: symbol {string[pos]!r} at "
                f"position {pos} cannot follow {string[:pos]!r}"
            )
        state = moves[string[pos]]
        legal.append(frozenset(s for s, _ in REBER_AUTOMATON[state]) if state != _END
                     else frozenset(string[1]))      # after the inner E only the remembered T|P
    if state != _END:
        raise ValueError(
            f"string: {string!r} is not an embedded Reber string: the inner string is unfinished"
        )
    legal.append(frozenset("E"))                       # after the outer T|P
    return legal


@functools.lru_cache(maxsize=8192)
def _rows(string: str) -> tuple[np.ndarray, np.ndarray]:
    """A string's symbol indices (n,) and its legal-next rows (n - 1, 7), validated once per distinct string.

    Short strings recur (half of all embedded Reber strings have at most 11 symbols), and building these
    per step was most of the cost of drawing Exp 1's training data (benchmarks/bench_trial_time.py).
    """
    ids = np.array([_INDEX[c] for c in string], dtype=np.int64)
    rows = np.zeros((len(string) - 1, len(SYMBOLS)), dtype=bool)
    for t, allowed in enumerate(legal_next(string)):
        rows[t, [_INDEX[c] for c in allowed]] = True
    ids.flags.writeable = rows.flags.writeable = False              # shared by every batch that holds the string
    return ids, rows


def encode(strings: Sequence[str]) -> Batch:
    """Batch of next-symbol prediction sequences for the given embedded Reber strings."""
    strings = list(strings)
    if not strings:
        raise ValueError("strings: expected at least one embedded Reber string, got none")
    N = len(strings)
    lengths = np.array([len(s) - 1 for s in strings], dtype=np.int64)
    T_max = int(lengths.max())
    symbols = np.full((T_max + 1, N), -1, dtype=np.int64)          # whole strings, -1 padded
    legal = np.zeros((T_max, N, len(SYMBOLS)), dtype=bool)
    for i, s in enumerate(strings):
        ids, rows = _rows(s)
        symbols[: len(s), i] = ids
        legal[: len(s) - 1, i] = rows
    mask = step_mask(lengths, T_max)
    inputs = np.where(mask, symbols[:-1], -1)                      # the final E is never an input
    targets = symbols[1:]                                          # already -1 beyond each length
    return Batch(
        x=one_hot(inputs, len(SYMBOLS)),
        y=one_hot(targets, len(SYMBOLS)),
        target_mask=mask,
        lengths=lengths,
        meta={"strings": strings, "legal_next": legal, "symbols": inputs},
    )


@dataclass(frozen=True)
class ReberSplit:
    """A fixed training set and a disjoint test set of embedded Reber strings."""

    train: tuple[str, ...]
    test: tuple[str, ...]

    def train_batch(self) -> Batch:
        return encode(self.train)

    def test_batch(self) -> Batch:
        return encode(self.test)

    def sample_train(self, rng: np.random.Generator, n: int) -> Batch:
        """n training exemplars drawn at random (with replacement) from the training set."""
        idx = check_rng(rng).integers(len(self.train), size=check_n(n))
        return encode([self.train[k] for k in idx])


def make_split(rng: np.random.Generator, n_train: int = 256, n_test: int = 256,
               unique: bool = False) -> ReberSplit:
    """Fahlman's protocol: n_train random strings, then n_test random strings not in the training set.

    ``unique=True`` also forbids repeats inside each set.
    """
    rng = check_rng(rng)
    n_train, n_test = check_n(n_train), check_n(n_test)
    train: list[str] = []
    while len(train) < n_train:
        s = embedded_reber_string(rng)
        if not (unique and s in train):
            train.append(s)
    seen, test = set(train), []
    while len(test) < n_test:
        s = embedded_reber_string(rng)
        if s not in seen:
            test.append(s)
            if unique:
                seen.add(s)
    return ReberSplit(tuple(train), tuple(test))


@dataclass(frozen=True)
class EmbeddedReber(Task):
    """Experiment 1, embedded Reber grammar; no settings (see the module docstring)."""

    name = "embedded_reber"
    experiment = "1"

    @property
    def input_names(self) -> tuple[str, ...]:
        return SYMBOLS

    @property
    def output_names(self) -> tuple[str, ...]:
        return SYMBOLS

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        rng, n = check_rng(rng), check_n(n)
        return encode([embedded_reber_string(rng) for _ in range(n)])

    def make_split(self, rng: np.random.Generator, n_train: int = 256, n_test: int = 256,
                   unique: bool = False) -> ReberSplit:
        return make_split(rng, n_train, n_test, unique)

    def reference_outputs(self, batch: Batch) -> np.ndarray:
        """Probability of each symbol coming next: 1/|legal| on each legal symbol."""
        legal = batch.meta["legal_next"].astype(np.float64)
        count = legal.sum(axis=2, keepdims=True)
        return np.divide(legal, count, out=np.zeros_like(legal), where=count > 0)

    def correct(self, batch: Batch, outputs: np.ndarray) -> np.ndarray:
        """(N,) True iff at every step every legal symbol's output exceeds every illegal one's."""
        outputs = self._check_outputs(batch, outputs)
        legal = batch.meta["legal_next"]
        lowest_legal = np.where(legal, outputs, np.inf).min(axis=2)        # (T, N)
        highest_illegal = np.where(legal, -np.inf, outputs).max(axis=2)    # (T, N)
        ok = (lowest_legal > highest_illegal) | ~batch.step_mask
        return ok.all(axis=0)

    def error(self, batch: Batch, outputs: np.ndarray) -> np.ndarray:
        """(N,) mean over steps of sum_k (y_k - out_k)^2, y the actual next symbol."""
        return self.squared_error(batch, outputs) / batch.lengths

    def render(self, batch: Batch, i: int) -> str:
        L = int(batch.lengths[i])
        cells = lambda row: "".join(f"{c:<3}" for c in row).rstrip()
        legal = batch.meta["legal_next"][:L, i]
        return "\n".join([
            "step    " + cells(str(t) for t in range(L)),
            "input   " + cells(SYMBOLS[k] for k in batch.x[:L, i].argmax(axis=1)),
            "target  " + cells(SYMBOLS[k] for k in batch.y[:L, i].argmax(axis=1)),
            "legal   " + cells("".join(s for s, ok in zip(SYMBOLS, row) if ok) for row in legal),
        ])
