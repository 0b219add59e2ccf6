"""German children's songs (Essen Folksong Collection) as monophonic rolls, offline, from music21's corpus.

The second real set of the Greff et al. (2017) study here. Why this one: it ships with music21 (the same
dependency as the chorales, no download), it is real music of another kind (one voice, folk idiom, many
short notes), and a monophonic roll makes next-frame prediction a *categorical* problem (89 classes: 88
keys or rest), so the variants are compared under a softmax output as well as under JSB's independent
sigmoids. The set: ``essenFolksong/kinder0.abc``, 213 songs (Essen's "kinder" file, encoded by Helmut
Schaffrath's group), at eighth-note steps (the songs are mostly eighths; a sixteenth that covers no grid
point is not in the roll, see ``pianoroll.py``).

A song is dropped, with its reason, when it has more than one part, a frame with two notes, a note
outside MIDI 21-108, or a roll that repeats one already kept. Split: sorted names ("kinder0-<X number>"),
permuted by ``seed`` (default 2014), 60 / 20 / 20 %.
"""
from __future__ import annotations

from pathlib import Path

from . import pianoroll as P

NAME = "essen-kinder"
STEP = 0.5                                   # an eighth note per frame
FRACTIONS = (0.6, 0.2, 0.2)
SEED = 2014
FILES = ("kinder0.abc",)


def sources() -> list[Path]:
    root = P.corpus_root() / "essenFolksong"
    return [root / f for f in FILES]


def song_roll(score, step: float = STEP):
    """(roll (T, 88) bool, why) of one parsed song; None with the reason when it is dropped."""
    parts = list(score.parts) or [score]
    if len(parts) != 1:
        return None, f"{len(parts)} parts, expected one voice"
    roll, outside = P.notes_to_roll(P.part_notes(parts[0]), float(score.highestTime), step)
    if outside:
        return None, f"{outside} notes outside MIDI 21-108"
    if roll.size and roll.sum(axis=1).max() > 1:
        return None, "a frame with two notes (not monophonic)"
    return roll, ""


def convert(path: Path, step: float = STEP) -> list:
    """One ABC file of many songs -> [(name, roll or None, why)]."""
    m21 = P.music21()
    opus = m21.converter.parse(path)
    scores = list(opus.scores) if hasattr(opus, "scores") else [opus]
    out = []
    for i, score in enumerate(scores):
        number = getattr(score.metadata, "number", None) if score.metadata is not None else None
        name = f"{path.stem}-{number if number is not None else i + 1}"
        roll, why = song_roll(score, step)
        out.append((name, roll, why))
    return out


def cache_key(step: float = STEP) -> str:
    return f"{NAME}-v{P.FORMAT}-step{step:g}-music21-{P.music21().__version__}"


def load(seed: int = SEED, limit: int | None = None, cache=True, step: float = STEP) -> P.Split:
    """The songs split by ``seed``; ``limit``: at most that many per split (the file is parsed whole)."""
    pieces = []
    for path in sources():
        pieces += P.cached(cache_key(step), path, lambda p: convert(p, step), cache)
    names = [n for n, _, _ in pieces]
    if len(set(names)) != len(names):          # two songs with one X number: tell them apart by position
        pieces = [(f"{n}#{i}", r, w) for i, (n, r, w) in enumerate(pieces)]
    return P.build_split(NAME, step, pieces, FRACTIONS, seed, limit)


__all__ = ["FILES", "NAME", "SEED", "STEP", "convert", "load", "song_roll", "sources"]
