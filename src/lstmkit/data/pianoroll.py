"""Piano rolls from scores of music21's bundled corpus: the frames of the JSB-style music tasks.

A *piano roll* is a (T, 88) boolean array: frame t says which of the 88 piano keys (MIDI 21-108, the
column is ``midi - 21``) sound at time ``t * step`` quarter notes. A note of pitch p from onset ``a`` to
``a + d`` (quarter notes) is on in every frame whose time lies in [a, a + d)::

    roll[t, p - 21] = 1  iff  a <= t * step < a + d      for some note (p, a, d)                (P1)
    T = ceil(highest time / step)                                                                (P2)

so a note shorter than a step that covers no grid point is not in the roll (Boulanger-Lewandowski et al.
(2012) made JSB Chorales the same way, at quarter-note steps; held and repeated notes look alike).

A music *set* (``chorales.py``, ``folk.py``) names its source files in music21's corpus and a function
that turns one source file into pieces ``(name, roll or None, why dropped)``. This module caches that
per source file, splits the pieces by a seed and drops repeats across the splits.

Caching: under ``$LSTMKIT_CACHE`` or ``$XDG_CACHE_HOME/lstmkit`` or ``~/.cache/lstmkit``, in a directory
named by the set, the conversion version, the step and music21's version (another music21 may parse
differently). Files are only ever *added* (written atomically, never over an existing path) and nothing is
deleted; a cache directory that cannot be made or written (a read-only HOME) turns caching off with no
error, and an unreadable cache file is ignored (parsed again, left as it is).
"""
from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LOW, KEYS = 21, 88                 # MIDI 21 (A0) .. 108 (C8): the piano's keys, as in the JSB literature
FORMAT = 1                         # bump when a conversion changes: old cache files are then not read
_EPS = 1e-9                        # onsets are Fractions turned float: a grid point equal to one counts


def music21():
    """The music21 module, or a ValueError saying how to install it."""
    try:
        import music21 as m21
    except ImportError:
        raise ValueError("the music tasks need music21, which is not installed; "
                         "pip install 'lstmkit[music]' (or pip install 'music21>=9')") from None
    return m21


def corpus_root() -> Path:
    """The directory of music21's bundled corpus."""
    return Path(music21().__file__).parent / "corpus"


# ------------------------------------------------------------------------------------------- conversion
def notes_to_roll(notes: Sequence[tuple[int, float, float]], length: float, step: float):
    """(P1), (P2) for notes ``(midi, onset, duration)`` in quarter notes: (roll (T, 88) bool, out-of-range count)."""
    T = max(0, math.ceil(length / step - _EPS))
    roll = np.zeros((T, KEYS), dtype=bool)
    outside = 0
    for midi, onset, dur in notes:
        first = math.ceil(onset / step - _EPS)              # the first grid point at or after the onset
        last = math.ceil((onset + dur) / step - _EPS)       # the first grid point at or after the end
        if last <= first:
            continue                                        # covers no grid point (grace notes, short notes)
        if not LOW <= midi < LOW + KEYS:
            outside += 1
            continue
        roll[first:min(last, T), midi - LOW] = True         # (P1)
    return roll, outside


def part_notes(part) -> list[tuple[int, float, float]]:
    """Every sounding pitch of a music21 part as ``(midi, onset, duration)``, chords split into their pitches."""
    out = []
    for n in part.flatten().notes:
        onset, dur = float(n.offset), float(n.quarterLength)
        for p in n.pitches:
            out.append((int(p.midi), onset, dur))
    return out


# ------------------------------------------------------------------------------------------- cache
def cache_root() -> Path:
    env = os.environ.get("LSTMKIT_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lstmkit"


def _pack(pieces) -> bytes:
    names = np.array([n for n, _, _ in pieces], dtype=str)
    why = np.array([w for _, _, w in pieces], dtype=str)
    lengths = np.array([-1 if r is None else len(r) for _, r, _ in pieces], dtype=np.int64)
    rolls = [r for _, r, _ in pieces if r is not None]
    frames = np.concatenate(rolls) if rolls else np.zeros((0, KEYS), dtype=bool)
    buf = io.BytesIO()
    np.savez_compressed(buf, names=names, why=why, lengths=lengths, frames=np.packbits(frames, axis=1))
    return buf.getvalue()


def _unpack(path: Path):
    with np.load(path, allow_pickle=False) as z:
        names, why, lengths = list(z["names"]), list(z["why"]), z["lengths"]
        frames = np.unpackbits(z["frames"], axis=1, count=KEYS).astype(bool)
    pieces, at = [], 0
    for name, w, n in zip(names, why, lengths):
        if n < 0:
            pieces.append((str(name), None, str(w)))
        else:
            pieces.append((str(name), frames[at:at + n], str(w)))
            at += n
    if at != len(frames):
        raise ValueError("frames left over")
    return pieces


def cached(key: str, source: Path, convert: Callable[[Path], list], cache: bool | Path = True) -> list:
    """``convert(source)``, read from or added to the cache directory ``key`` (see the module docstring)."""
    if cache is False:
        return convert(source)
    root = Path(cache) if isinstance(cache, (str, Path)) else cache_root()
    path = root / key / (source.name + ".npz")
    if path.is_file():
        try:
            return _unpack(path)
        except Exception:          # noqa: BLE001 - a damaged or foreign file: parse again, leave it alone
            return convert(source)
    pieces = convert(source)
    try:
        from .._atomic import atomic_write_bytes

        atomic_write_bytes(path, _pack(pieces), make_parents=True, what="cache", replace=False)
    except (OSError, ValueError):  # read-only HOME, a full disk, or someone wrote it meanwhile: no cache
        pass
    return pieces


# ------------------------------------------------------------------------------------------- a set of pieces
@dataclass(frozen=True)
class Split:
    """The pieces of a music set, split into train / valid / test, with what was dropped and why."""

    name: str
    step: float                                        # quarter notes per frame
    train: tuple[np.ndarray, ...]                      # rolls (T, 88) bool
    valid: tuple[np.ndarray, ...]
    test: tuple[np.ndarray, ...]
    names: dict[str, tuple[str, ...]]                  # split -> piece names, in the order of the rolls
    dropped: dict[str, str] = field(default_factory=dict)   # piece name -> why

    def part(self, which: str) -> tuple[np.ndarray, ...]:
        return {"train": self.train, "valid": self.valid, "test": self.test}[which]

    def describe(self) -> dict:
        """Counts for the docs: pieces and frames per split, and the dropped pieces by reason."""
        d = {"set": self.name, "step_quarters": self.step}
        for s in ("train", "valid", "test"):
            rolls = self.part(s)
            d[s] = {"pieces": len(rolls), "frames": int(sum(len(r) for r in rolls)),
                    "notes_per_frame": round(float(sum(r.sum() for r in rolls) / max(1, sum(len(r) for r in rolls))), 3)}
        reasons: dict[str, int] = {}
        for why in self.dropped.values():
            reasons[why] = reasons.get(why, 0) + 1
        d["dropped"] = reasons
        return d


def assign(names: Sequence[str], fractions: tuple[float, float, float], seed: int) -> dict[str, str]:
    """Piece name -> "train"/"valid"/"test": a permutation of the sorted names by ``seed``, cut by ``fractions``."""
    order = sorted(names)
    perm = np.random.default_rng(seed).permutation(len(order))
    n_train = round(fractions[0] * len(order))
    n_valid = round(fractions[1] * len(order))
    out = {}
    for rank, i in enumerate(perm):
        out[order[i]] = "train" if rank < n_train else "valid" if rank < n_train + n_valid else "test"
    return out


def build_split(name: str, step: float, pieces: Sequence[tuple[str, np.ndarray | None, str]],
                fractions: tuple[float, float, float], seed: int, limit: int | None = None) -> Split:
    """Split ``pieces`` by ``assign``; drop the unusable ones and exact repeats (a repeat of a piece kept in
    train, or earlier in valid/test, goes: no roll is in two splits); keep at most ``limit`` per split."""
    where = assign([n for n, _, _ in pieces], fractions, seed)
    by_name = {n: (r, w) for n, r, w in pieces}
    kept: dict[str, list] = {"train": [], "valid": [], "test": []}
    dropped: dict[str, str] = {}
    seen: set[bytes] = set()
    rank = {n: i for i, n in enumerate(where)}          # assign's dict order is the permutation's order
    order = sorted(by_name, key=lambda n: (("train", "valid", "test").index(where[n]), rank[n]))
    for n in order:
        roll, why = by_name[n]
        if roll is None:
            dropped[n] = why
            continue
        if len(roll) < 2:
            dropped[n] = "fewer than 2 frames"
            continue
        key = roll.tobytes() + bytes(str(roll.shape), "ascii")
        if key in seen:
            dropped[n] = "exact repeat of a piece kept earlier"
            continue
        seen.add(key)
        kept[where[n]].append((n, roll))
    if limit is not None:
        kept = {s: v[:limit] for s, v in kept.items()}
    return Split(name, step, *(tuple(r for _, r in kept[s]) for s in ("train", "valid", "test")),
                 names={s: tuple(n for n, _ in kept[s]) for s in kept}, dropped=dropped)


# ------------------------------------------------------------------------------------------- model data
def next_frame_pairs(rolls: Sequence[np.ndarray], categorical: bool = False):
    """Inputs and targets of next-frame prediction, one sequence per roll.

    The input at step t is frame t-1 (a frame of zeros at t = 0), the target frame t: every frame is
    predicted, the first from nothing (the NLL of the whole piece). ``categorical``: monophonic rolls as
    89 classes (88 keys + rest, index 88), one-hot.
    Returns lists of (T, F) float32 arrays x and y, F = 88 or 89.
    """
    xs, ys = [], []
    for r in rolls:
        y = one_hot_mono(r) if categorical else r.astype(np.float32)
        x = np.zeros_like(y)
        x[1:] = y[:-1]
        xs.append(x)
        ys.append(y)
    return xs, ys


def one_hot_mono(roll: np.ndarray) -> np.ndarray:
    """(T, 88) monophonic roll -> (T, 89) one-hot (column 88 = rest); raises on a frame with 2+ notes."""
    if roll.size and roll.sum(axis=1).max() > 1:
        raise ValueError("one_hot_mono: expected at most one note per frame, got a chord")
    out = np.zeros((len(roll), KEYS + 1), dtype=np.float32)
    out[:, :KEYS] = roll
    out[:, KEYS] = ~roll.any(axis=1)
    return out


__all__ = ["KEYS", "LOW", "Split", "assign", "build_split", "cache_root", "cached", "corpus_root", "music21",
           "next_frame_pairs", "notes_to_roll", "one_hot_mono", "part_notes"]
