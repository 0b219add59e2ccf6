"""Two-column files of (source, target) pairs: one pair per line, the two separated by one TAB.

    123+45<TAB>168
    hello world<TAB>world hello

UTF-8 text (a byte-order mark is allowed); empty lines are skipped; ``\\r\\n`` line ends are fine.
Symbols (``TOKENIZERS``): ``chars`` (default) makes every character a symbol, spaces included;
``words`` splits at whitespace, and answers are joined with one space. Every message names the file
and the line. ``lstmkit predict`` reads the same format, the target column optional (all lines with
it, or none): with targets it also reports the accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..data.table import read_text

TOKENIZERS = {"chars": list, "words": str.split}
JOINERS = {"chars": "".join, "words": " ".join}


def check_tokens(tokens: str, what: str = "--tokens") -> str:
    if tokens not in TOKENIZERS:
        raise ValueError(f"{what}: expected one of {', '.join(TOKENIZERS)}, got {tokens!r}")
    return tokens


@dataclass
class Pairs:
    sources: list[list[str]]             # symbols of each source
    targets: list[list[str]] | None      # symbols of each target (None: a file without targets)
    lines: list[int]                     # the file line of each pair (1-based), for messages

    def __len__(self) -> int:
        return len(self.sources)


def read_pairs(path, tokens: str = "chars", what: str = "--data", need_target: bool = True) -> Pairs:
    """The pairs of ``path``; ``need_target=False`` also accepts lines that are a source alone."""
    split = TOKENIZERS[check_tokens(tokens)]
    text = read_text(path, what)
    sources, targets, lines = [], [], []
    with_target = None
    for n, line in enumerate(text.split("\n"), start=1):
        line = line[:-1] if line.endswith("\r") else line
        if not line:
            continue
        tabs = line.count("\t")
        if tabs > 1:
            raise ValueError(f"{what}: {path} line {n} has {tabs} tabs; expected source<TAB>target, one tab per "
                             f"line (a tab inside a sequence cannot be told from the separator)")
        if tabs == 0 and need_target:
            raise ValueError(f"{what}: {path} line {n} has no tab; expected source<TAB>target (two columns "
                             f"separated by a tab character), got {line[:40]!r}")
        if with_target is None:
            with_target = tabs == 1
        elif with_target != (tabs == 1):
            raise ValueError(f"{what}: {path} line {n} {'has no' if tabs == 0 else 'has a'} target column, unlike "
                             f"line {lines[0]}; give every line a target (source<TAB>target) or none")
        src, _, tgt = line.partition("\t")
        s = split(src)
        if not s:
            raise ValueError(f"{what}: {path} line {n} has an empty source; every pair needs at least one symbol "
                             f"before the tab")
        if tabs == 1:
            t = split(tgt)
            if not t:
                raise ValueError(f"{what}: {path} line {n} has an empty target; every pair needs at least one "
                                 f"symbol after the tab")
            targets.append(t)
        sources.append(s)
        lines.append(n)
    if not sources:
        raise ValueError(f"{what}: {path} is empty (no non-empty line); expected one pair per line, "
                         f"source<TAB>target")
    return Pairs(sources, targets if with_target else None, lines)
