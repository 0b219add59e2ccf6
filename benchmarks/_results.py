"""benchmarks/RESULTS.md: each benchmark owns the text between its markers, the rest of the file is kept.

A section is ``<!-- NAME:begin -->``, the benchmark's text, ``<!-- NAME:end -->``; a benchmark that has
none yet appends one at the end.
"""
from __future__ import annotations

from pathlib import Path

from lstmkit import _atomic

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, text: str) -> Path:
    """Replace (or append) the section ``name`` of RESULTS.md with ``text``; returns the file's path."""
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n")
    return _atomic.write_section(RESULTS, name, text)
