"""benchmarks/RESULTS.md: each benchmark owns the text between its markers, the rest of the file is kept.

A section is ``<!-- NAME:begin -->``, the benchmark's text, ``<!-- NAME:end -->``; a benchmark that has
none yet appends one at the end.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, text: str) -> Path:
    """Replace (or append) the section ``name`` of RESULTS.md with ``text``; returns the file's path."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text.strip(chr(10))}\n{end}"
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(new)
    return RESULTS
