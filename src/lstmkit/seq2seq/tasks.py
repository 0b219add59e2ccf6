"""Symbol-string tasks that show what an encoder-decoder learns, and accuracy by source length.

    reverse    "cabd"   -> "dbac"        the output is the input backwards (Sutskever et al. 2014 found
                                         reversing the *source* helps; here reversal is the task itself)
    sort       "cabd"   -> "abcd"        the input's symbols in alphabetical order (repeats kept)
    addition   "123+45" -> "168"         two decimal numbers without leading zeros, and their sum

``TASKS[name](rng, length)`` draws one (source, target) pair whose *source* has exactly ``length``
symbols, from the explicit seeded generator ``rng``; ``dataset`` draws n pairs with lengths uniform in
a range. Reverse and sort use ``ALPHABET`` (10 letters); addition splits the source length n >= 3 into
two operands of a and n - 1 - a digits, a uniform in 1..n-2, each operand uniform among the numbers
of that many digits.

``accuracy_by_length`` scores decoded answers: exact match (the whole output string) and per-token
accuracy (position by position over the target's length; a missing or extra symbol counts as wrong
at that position: correct positions / max(len(target), len(output))).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

ALPHABET = "abcdefghij"


def reverse_pair(rng: np.random.Generator, length: int) -> tuple[str, str]:
    s = "".join(rng.choice(list(ALPHABET), size=length))
    return s, s[::-1]


def sort_pair(rng: np.random.Generator, length: int) -> tuple[str, str]:
    s = "".join(rng.choice(list(ALPHABET), size=length))
    return s, "".join(sorted(s))


def _number(rng: np.random.Generator, digits: int) -> int:
    lo = 0 if digits == 1 else 10 ** (digits - 1)
    return int(rng.integers(lo, 10**digits))


def addition_pair(rng: np.random.Generator, length: int) -> tuple[str, str]:
    if length < 3:
        raise ValueError(f"addition: a source 'a+b' has at least 3 symbols, got length {length}")
    a_digits = int(rng.integers(1, length - 1))                # 1 .. length-2
    a, b = _number(rng, a_digits), _number(rng, length - 1 - a_digits)
    return f"{a}+{b}", str(a + b)


TASKS: dict[str, Callable[[np.random.Generator, int], tuple[str, str]]] = {
    "reverse": reverse_pair, "sort": sort_pair, "addition": addition_pair,
}
MIN_LENGTH = {"reverse": 1, "sort": 1, "addition": 3}


def get_task(name: str):
    if name not in TASKS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name]


def dataset(name: str, n: int, lengths: tuple[int, int], rng: np.random.Generator) -> list[tuple[str, str]]:
    """n pairs of task ``name``, source lengths uniform in [lengths[0], lengths[1]]."""
    lo, hi = lengths
    if lo < MIN_LENGTH[name] or hi < lo:
        raise ValueError(f"{name}: expected source lengths {MIN_LENGTH[name]} <= lo <= hi, got {lengths}")
    make = get_task(name)
    return [make(rng, int(n_)) for n_ in rng.integers(lo, hi + 1, size=n)]


def by_length(name: str, per_length: int, lengths, rng: np.random.Generator) -> dict[int, list[tuple[str, str]]]:
    """``per_length`` pairs for each source length in ``lengths`` (a test set balanced over lengths)."""
    make = get_task(name)
    return {int(n): [make(rng, int(n)) for _ in range(per_length)] for n in lengths}


def token_accuracy(target: str | list, output: str | list) -> float:
    """Correct positions / max(len(target), len(output)) (1.0 for two empty strings)."""
    n = max(len(target), len(output))
    if n == 0:
        return 1.0
    return sum(a == b for a, b in zip(target, output)) / n


def accuracy_by_length(pairs: list[tuple], outputs: list) -> dict[int, dict]:
    """{source length: {"n", "exact", "token"}} for (source, target) pairs and decoded outputs."""
    rows: dict[int, list[tuple[float, float]]] = {}
    for (src, tgt), out in zip(pairs, outputs):
        rows.setdefault(len(src), []).append((float(list(tgt) == list(out)), token_accuracy(tgt, out)))
    return {n: {"n": len(v), "exact": float(np.mean([e for e, _ in v])), "token": float(np.mean([t for _, t in v]))}
            for n, v in sorted(rows.items())}
