"""CSV files with a header row, read with the standard library and checked cell by cell.

Every message names the file, the data row (1-based, the header not counted), the line of the file
and the column, because "could not convert string to float" does not tell anyone where to look.
Empty cells and the usual spellings of missing values (NA, NaN, null, ...) are *gaps*; numeric
columns with gaps are refused with the place of the first gap and the number of others, rather than
silently interpolated: how to fill a gap is the user's decision.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "nil", "-", "?"})


def names(cols) -> str:
    """Column names for a one-line message (names with line breaks or control characters quoted)."""
    return ", ".join(c if c.isprintable() else repr(c) for c in cols)


def check_file(path, what: str) -> Path:
    """``path`` as a Path; FileNotFoundError naming the option if it is not a readable file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what}: {p} does not exist; check the path")
    if not p.is_file():
        raise FileNotFoundError(f"{what}: {p} is not a file (a directory?); pass the data file itself")
    return p


def read_text(path, what: str) -> str:
    p = check_file(path, what)
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what}: {p} is not UTF-8 text (byte {e.start} cannot be decoded); "
                         f"save it as UTF-8") from None


@dataclass
class Table:
    """The header and the data rows of a CSV file, all cells as strings."""

    path: Path
    header: list[str]
    rows: list[list[str]]          # each row has len(header) cells
    lines: list[int]               # file line of each row (1-based), for messages

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, name: str, what: str = "column") -> int:
        if name not in self.header:
            near = [h for h in self.header if h.lower() == str(name).lower()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ValueError(f"{what}: unknown column {name!r} in {self.path}{hint}; "
                             f"the file has columns: {names(self.header)}")
        return self.header.index(name)

    def strings(self, name: str, what: str = "column") -> list[str]:
        j = self.index(name, what)
        return [r[j] for r in self.rows]

    def where(self, i: int) -> str:
        return f"row {i + 1} (line {self.lines[i]})"

    def numeric(self, names: list[str], what: str = "column", allow_gaps: bool = False) -> np.ndarray:
        """The named columns as a float64 array (rows, len(names)); gaps are errors unless allowed (NaN)."""
        cols = [self.index(n, what) for n in names]
        out = np.empty((len(self.rows), len(cols)), dtype=np.float64)
        gaps: dict[str, list[int]] = {}
        for i, row in enumerate(self.rows):
            for k, j in enumerate(cols):
                cell = row[j].strip()
                if cell.lower() in MISSING:
                    out[i, k] = math.nan
                    gaps.setdefault(names[k], []).append(i)
                    continue
                try:
                    v = float(cell)
                except ValueError:
                    raise ValueError(f"{self.path}: {self.where(i)}, column {names[k]!r}: {cell!r} is not a "
                                     f"number; fix that cell or leave the column out") from None
                if not math.isfinite(v):
                    if math.isnan(v):
                        out[i, k] = math.nan
                        gaps.setdefault(names[k], []).append(i)
                        continue
                    raise ValueError(f"{self.path}: {self.where(i)}, column {names[k]!r}: {cell!r} is infinite; "
                                     f"fix that cell")
                out[i, k] = v
        if gaps and not allow_gaps:
            name = min(gaps, key=lambda n: gaps[n][0])
            rows = gaps[name]
            more = sum(len(v) for v in gaps.values()) - 1
            raise ValueError(f"{self.path}: gap (empty or NaN) in column {name!r} at {self.where(rows[0])}"
                             f"{f' and {more} more' if more else ''}; fill or drop those rows first "
                             f"(lstmkit does not guess missing values)")
        return out


def read_csv(path, what: str = "--data") -> Table:
    """Read a comma-separated file with a header row (delimiter sniffed among , ; and tab)."""
    text = read_text(path, what)
    p = Path(path)
    if not text.strip():
        raise ValueError(f"{what}: {p} is empty; expected a CSV file with a header row and data rows")
    first = next(line for line in text.splitlines() if line.strip())   # the header line
    delim = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header, rows, lines = None, [], []
    try:
        for row in reader:
            lineno = reader.line_num
            blank = not row or all(not c.strip() for c in row)
            if header is None:
                if blank:
                    continue                              # blank lines before the header carry nothing
                header = [c.strip() for c in row]
                if any(not h for h in header):
                    raise ValueError(f"{what}: {p} line {lineno}: the header has an empty column name; "
                                     f"every column needs a name")
                dup = sorted({h for h in header if header.count(h) > 1})
                if dup:
                    raise ValueError(f"{what}: {p}: duplicate column name(s) {names(dup)} in the header")
                continue
            if blank:                                     # inside the data a blank line is a row of gaps
                row = [""] * len(header)
            if len(row) != len(header):
                raise ValueError(f"{what}: {p} line {lineno} has {len(row)} fields, the header has "
                                 f"{len(header)}; fix the line (a stray or missing delimiter {delim!r}?)")
            rows.append(row)
            lines.append(lineno)
    except csv.Error as e:
        raise ValueError(f"{what}: {p} is not valid CSV ({e})") from None
    while rows and all(not c.strip() for c in rows[-1]):   # trailing blank lines are formatting
        rows.pop()
        lines.pop()
    if header is None or not rows:
        raise ValueError(f"{what}: {p} has a header but no data rows; expected at least one row of values")
    return Table(p, header, rows, lines)
