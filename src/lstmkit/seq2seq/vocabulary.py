"""Symbols <-> integer ids for one side (source or target) of a sequence-to-sequence model.

Ids 0, 1, 2 are the three special symbols every vocabulary has, then the data's symbols in sorted
order (so the same data always gives the same ids)::

    0  <pad>   fills a batch's shorter sequences; never a target (the loss mask excludes it)
    1  <bos>   the decoder's first input: "begin the output"
    2  <eos>   the last target of every sequence: "the output ends here"; decoding stops at it

A symbol is one character (``tokens="chars"``, the default) or one whitespace-separated word
(``tokens="words"``). The vocabulary is built from the training data and saved with the model
(``to_list`` / ``from_list``), so new data is encoded with the ids the model was trained on; a symbol
the model never saw is an error that names it (there is no <unk>: these tasks have closed alphabets).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")


class Vocabulary:
    """``ids(symbols)`` and ``symbols(ids)`` for a fixed, ordered symbol list (specials first).

    >>> v = Vocabulary.build([["a", "c"], ["b", "a"]])
    >>> v.symbols_list, v.ids(["c", "a"]).tolist(), v.size
    (['<pad>', '<bos>', '<eos>', 'a', 'b', 'c'], [5, 3], 6)
    """

    def __init__(self, symbols: Sequence[str]):
        symbols = list(symbols)
        if tuple(symbols[:3]) != SPECIALS:
            raise ValueError(f"vocabulary: expected the list to start with {', '.join(SPECIALS)}, got "
                             f"{symbols[:3]!r}; build it with Vocabulary.build(sequences)")
        if len(set(symbols)) != len(symbols) or not all(isinstance(s, str) and s for s in symbols):
            raise ValueError("vocabulary: expected distinct non-empty strings; the list is damaged")
        self.symbols_list = symbols
        self.index = {s: i for i, s in enumerate(symbols)}

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], what: str = "data") -> "Vocabulary":
        """The specials, then the sorted set of the symbols in ``sequences``."""
        seen: set[str] = set()
        for seq in sequences:
            seen.update(seq)
        reserved = sorted(seen & set(SPECIALS))
        if reserved:
            raise ValueError(f"{what}: the symbol(s) {', '.join(reserved)} are reserved for padding and the "
                             f"start/end of sequences; rename them in the data")
        return cls(list(SPECIALS) + sorted(seen))

    @property
    def size(self) -> int:
        return len(self.symbols_list)

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and other.symbols_list == self.symbols_list

    def ids(self, symbols: Sequence[str], what: str = "input") -> np.ndarray:
        """(n,) int64 ids of ``symbols``; an unknown symbol is an error naming it."""
        try:
            return np.fromiter((self.index[s] for s in symbols), dtype=np.int64, count=len(symbols))
        except KeyError:
            unknown = sorted({s for s in symbols if s not in self.index})
            known = "".join(self.symbols_list[3:]) if all(len(s) == 1 for s in self.symbols_list[3:]) \
                else " ".join(self.symbols_list[3:])
            raise ValueError(f"{what}: symbol(s) {unknown!r} are not in the model's vocabulary ({known!r}); "
                             f"use only symbols of the training data") from None

    def symbols(self, ids: Iterable[int]) -> list[str]:
        """The symbols of ``ids`` up to (not including) the first <eos>; <pad> and <bos> are dropped."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i > EOS:
                out.append(self.symbols_list[i])
        return out

    def to_list(self) -> list[str]:
        return list(self.symbols_list)

    @classmethod
    def from_list(cls, symbols) -> "Vocabulary":
        if not isinstance(symbols, list):
            raise ValueError(f"vocabulary: expected a list of symbols, got {type(symbols).__name__}")
        return cls(symbols)

    def __repr__(self) -> str:
        return f"Vocabulary({self.size} symbols: {' '.join(self.symbols_list[3:13])}{' ...' if self.size > 13 else ''})"
