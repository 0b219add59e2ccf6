"""Bach chorales as JSB-style piano rolls, offline, from the corpus that ships with music21.

JSB Chorales (Allan & Williams 2005; as piano rolls by Boulanger-Lewandowski et al. 2012) is 382
four-part chorales at quarter-note steps, 229 / 76 / 77 for train / valid / test. That file is a download;
this set is built from music21's own Bach corpus (``music21/corpus/bach``: MusicXML files named by BWV
number) instead, so it needs no network, and it is *not* the same split (nor exactly the same pieces):
published numbers are a guide, not a target.

Conversion (``pianoroll.py`` has the equations): the four voices (parts named Soprano, Alto, Tenor, Bass)
of each score, sampled at quarter-note steps into 88 keys (MIDI 21-108); instrumental parts (horns,
violins, continuo that some scores carry) are left out. A score is dropped, with its reason kept in
``Split.dropped``, when it has no four such voices, when it cannot be parsed, or when its roll repeats one
already kept (several BWV numbers share a harmonisation). Files: ``.mxl`` and ``.xml`` (the three Humdrum
``.krn`` files duplicate chorales that are also in MusicXML, and the ``.rntxt`` files are analyses).

Split: the kept names sorted, permuted by ``seed`` (default 2012), cut 60 / 20 / 20 %, close to JSB's
229 / 76 / 77 proportions.

>>> s = load(limit=3)                                    # doctest: +SKIP
>>> s.train[0].shape                                     # doctest: +SKIP
(49, 88)
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from . import pianoroll as P

NAME = "bach-chorales"
STEP = 1.0                                  # quarter notes per frame, as JSB Chorales
FRACTIONS = (0.6, 0.2, 0.2)
SEED = 2012
VOICES = ("soprano", "alto", "tenor", "bass")


def sources() -> list[Path]:
    """The MusicXML chorale files of music21's Bach corpus, sorted by name."""
    root = P.corpus_root() / "bach"
    return sorted(p for p in root.iterdir() if p.suffix in (".mxl", ".xml"))


def piece_name(path: Path) -> str:
    return path.stem                         # "bwv10.7"


def voices(score) -> list:
    """The Soprano, Alto, Tenor and Bass parts of a score, in that order ([] if any is missing)."""
    found = {}
    for part in score.parts:
        name = (part.partName or "").strip().lower()
        for v in VOICES:
            if name.startswith(v) and v not in found:
                found[v] = part
    return [found[v] for v in VOICES] if len(found) == 4 else []


def score_roll(score, step: float = STEP):
    """(roll (T, 88) bool, why) of a parsed chorale; roll None with the reason when it is dropped."""
    parts = voices(score)
    if not parts:
        names = [p.partName for p in score.parts]
        return None, f"no Soprano/Alto/Tenor/Bass parts (parts: {names})"
    notes = [n for part in parts for n in P.part_notes(part)]
    length = max(float(p.highestTime) for p in parts)
    roll, outside = P.notes_to_roll(notes, length, step)
    if outside:
        return None, f"{outside} notes outside MIDI 21-108"
    return roll, ""


def convert(path: Path, step: float = STEP) -> list:
    """One source file -> [(name, roll or None, why)] (the unit the cache stores)."""
    m21 = P.music21()
    try:
        score = m21.converter.parse(path)
    except Exception as e:  # noqa: BLE001 - a file music21 cannot read is dropped, with its reason
        return [(piece_name(path), None, f"music21 cannot parse it: {type(e).__name__}")]
    roll, why = score_roll(score, step)
    return [(piece_name(path), roll, why)]


def cache_key(step: float = STEP) -> str:
    return f"{NAME}-v{P.FORMAT}-step{step:g}-music21-{P.music21().__version__}"


def load(seed: int = SEED, limit: int | None = None, cache=True, step: float = STEP) -> P.Split:
    """The chorales split by ``seed``; ``limit``: at most that many pieces per split (parsing only those).

    With ``limit`` the files are parsed in split order and parsing stops once every split has ``limit``
    pieces, so a quick run does not parse the whole corpus; repeats are then dropped among the parsed ones.
    """
    files = {piece_name(p): p for p in sources()}
    where = P.assign(list(files), FRACTIONS, seed)
    key = cache_key(step)
    pieces, count = [], {"train": 0, "valid": 0, "test": 0}
    for name in where:                                   # the permutation's order
        if limit is not None and count[where[name]] >= limit:
            if all(c >= limit for c in count.values()):
                break
            continue
        got = P.cached(key, files[name], lambda p: convert(p, step), cache)
        pieces += got
        count[where[name]] += sum(1 for _, r, _ in got if r is not None)
    # build_split re-derives the same assignment from every name (parsed or not), so the split of a piece
    # does not depend on ``limit``: only how many of each split are parsed does.
    parsed = {n for n, _, _ in pieces}
    pieces += [(n, None, "not parsed (limit)") for n in files if n not in parsed]
    split = P.build_split(NAME, step, pieces, FRACTIONS, seed, limit)
    return dataclasses.replace(split, dropped={n: w for n, w in split.dropped.items() if w != "not parsed (limit)"})


__all__ = ["FRACTIONS", "NAME", "SEED", "STEP", "convert", "load", "score_roll", "sources", "voices"]
