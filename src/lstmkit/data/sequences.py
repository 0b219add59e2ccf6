"""Labelled variable-length sequences for classification, from .npz or long-format CSV.

``.npz`` keys (no pickled objects; ``np.savez(path, x=..., y=..., lengths=...)``):

    x        (N, T, F) float: N sequences padded to T steps (with ``lengths``, steps past each length
             are ignored), or (N, T): N univariate sequences of equal length, or (sum(lengths), F):
             the steps of all sequences one after another (then ``lengths`` is required)
    y        (N,) class labels: integers or strings
    lengths  (N,) integers >= 1, optional: the real length of each sequence

Long-format CSV (one row per time step; header names selectable by option)::

    id,time,f1,f2,...,label
    s1,0,0.1,0.3,...,walk
    s1,1,0.2,0.1,...,walk
    s2,0,...

``id`` names the sequence (rows of one sequence need not be adjacent); ``time`` orders the steps
within a sequence (numbers or ISO dates; without a time column, file order); the features are every
other column unless named; ``label`` must be the same on every row of a sequence.

A separate labels file (``--labels``) is a CSV with an id column and a label column (for .npz data
the id is the sequence's index 0..N-1); it must name every sequence exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .series import _parse_date
from .table import check_file, names, read_csv


@dataclass
class Sequences:
    x: list[np.ndarray]        # N arrays (T_i, F), float64
    labels: list[str]          # N labels, as text
    features: list[str]        # feature names
    ids: list[str]             # sequence names

    def __len__(self) -> int:
        return len(self.x)


def _labels_text(y: np.ndarray, what: str) -> list[str]:
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.all(y == np.round(y)):
            raise ValueError(f"{what}: class labels must be integers or strings, got non-integer floats")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iuUSb":
        raise ValueError(f"{what}: class labels must be integers or strings, got dtype {y.dtype}")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in y.tolist()]


def load_npz(path, what: str = "--data") -> Sequences:
    from .._npz import NpzError, read

    p = check_file(path, what)
    try:
        # x is converted to float64 and cut into sequences: up to three copies at once
        arrays = read(p, copies=3, fix="use a smaller data file")
    except NpzError as e:
        hint = ("; store variable-length sequences as x = all steps concatenated plus lengths"
                if "Python objects" in str(e) else "")
        raise ValueError(f"{what}: {e}{hint}") from None
    if "x" not in arrays:
        raise ValueError(f"{what}: {p} has no array 'x' (it has: {names(sorted(arrays)) or 'nothing'}); "
                         f"expected keys x, y and optionally lengths")
    x = arrays["x"]
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{what}: x in {p} must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    lengths = arrays.get("lengths")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or lengths.dtype.kind not in "iu" or (lengths.size and lengths.min() < 1):
            raise ValueError(f"{what}: lengths in {p} must be a 1-D array of integers >= 1, got "
                             f"{lengths.dtype} shape {lengths.shape}")
    if 0 in x.shape[1:]:
        raise ValueError(f"{what}: x in {p} has shape {x.shape}: sequences with zero time steps or zero features; "
                         f"every sequence needs at least one step of at least one feature")
    if x.ndim == 3:
        N, T, _ = x.shape
        if lengths is None:
            lengths = np.full(N, T)
        if lengths.shape != (N,) or lengths.max(initial=0) > T:
            raise ValueError(f"{what}: lengths in {p} must be {N} values in 1..{T} for x of shape {x.shape}")
        xs = [x[i, : lengths[i]] for i in range(N)]
    elif x.ndim == 2 and lengths is not None:
        if lengths.size == 0:
            raise ValueError(f"{what}: lengths in {p} is empty: the file holds no sequences")
        if int(lengths.sum()) != x.shape[0]:
            raise ValueError(f"{what}: x in {p} has {x.shape[0]} rows but lengths add up to {int(lengths.sum())}; "
                             f"concatenated x needs one row per step of every sequence")
        cut = np.cumsum(lengths)[:-1]
        xs = np.split(x, cut)
    elif x.ndim == 2:
        xs = [row[:, None] for row in x]
    else:
        raise ValueError(f"{what}: x in {p} must be (N, T, F), (N, T) or (steps, F) with lengths; got shape {x.shape}")
    if not xs:
        raise ValueError(f"{what}: {p} holds no sequences")
    for i, s in enumerate(xs):
        if not np.isfinite(s).all():
            t, f = (int(v) for v in np.argwhere(~np.isfinite(s))[0])
            raise ValueError(f"{what}: sequence {i} in {p} has a NaN/Inf gap at step {t}, feature {f}; "
                             f"fill or drop it first")
    labels = _labels_text(arrays["y"], f"{what} y in {p}") if "y" in arrays else None
    if labels is not None and len(labels) != len(xs):
        raise ValueError(f"{what}: {p} has {len(xs)} sequences but {len(labels)} labels in y; they must match")
    F = xs[0].shape[1]
    return Sequences([np.ascontiguousarray(s) for s in xs], labels, [f"x{j}" for j in range(F)],
                     [str(i) for i in range(len(xs))])


def load_csv(path, id_col="id", time_col="time", label_col="label", features=None, need_label: bool = True,
             what: str = "--data") -> Sequences:
    table = read_csv(path, what)
    ids = table.strings(id_col, "--id-col")
    has_time = time_col in table.header
    if time_col != "time" and not has_time:
        table.index(time_col, "--time-col")           # an explicitly named column must exist
    has_label = label_col in table.header
    if need_label and not has_label and label_col != "label":
        table.index(label_col, "--label-col")
    skip = {id_col, label_col} | ({time_col} if has_time else set())
    if features is None:
        features = [h for h in table.header if h not in skip]
        if not features:
            raise ValueError(f"{what}: {table.path} has no feature columns besides {names(sorted(skip))}")
    else:
        bad = [f for f in features if f in skip]
        if bad:
            raise ValueError(f"--features: {names(bad)} is the id, time or label column")
    values = table.numeric(list(features), "--features")
    labels = table.strings(label_col) if has_label else None
    times = None
    if has_time:
        times = []
        for i, c in enumerate(table.strings(time_col)):
            k = _parse_date(c)
            if k is None:
                raise ValueError(f"{table.path}: {table.where(i)}, column {time_col!r}: {c!r} is neither a number "
                                 f"nor an ISO date")
            times.append(k)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(ids):
        if not s.strip():
            raise ValueError(f"{table.path}: {table.where(i)}: empty sequence id in column {id_col!r}")
        groups.setdefault(s, []).append(i)
    xs, labs = [], []
    for sid, rows in groups.items():
        if times is not None:
            try:
                rows = sorted(rows, key=lambda i: times[i])
            except TypeError:
                raise ValueError(f"{what}: sequence {sid!r} mixes numeric and date times in {time_col!r}") from None
            for a, b in zip(rows, rows[1:]):
                if times[a] == times[b]:
                    raise ValueError(f"{table.path}: sequence {sid!r} has time {table.strings(time_col)[a]!r} twice "
                                     f"({table.where(a)} and {table.where(b)})")
        xs.append(np.ascontiguousarray(values[rows]))
        if labels is not None:
            first = labels[rows[0]]
            for r in rows:
                if labels[r] != first:
                    raise ValueError(f"{table.path}: sequence {sid!r} has label {first!r} at {table.where(rows[0])} "
                                     f"but {labels[r]!r} at {table.where(r)}; a sequence has one label")
            if need_label and not first.strip():
                raise ValueError(f"{table.path}: sequence {sid!r} has an empty label at {table.where(rows[0])}")
            labs.append(first.strip())
    return Sequences(xs, labs if labels is not None else None, list(features), list(groups))


def apply_labels_file(seqs: Sequences, path, id_col="id", label_col="label") -> Sequences:
    table = read_csv(path, "--labels")
    ids = table.strings(id_col, "--labels id column")
    labs = table.strings(label_col, "--labels label column")
    mapping: dict[str, str] = {}
    for i, (k, v) in enumerate(zip(ids, labs)):
        if k in mapping:
            raise ValueError(f"--labels: {table.path} names sequence {k!r} twice ({table.where(i)})")
        if not v.strip():
            raise ValueError(f"--labels: {table.path} {table.where(i)}: empty label for sequence {k!r}")
        mapping[k] = v.strip()
    missing = [s for s in seqs.ids if s not in mapping]
    extra = sorted(set(mapping) - set(seqs.ids))
    if missing or extra:
        def show(v):
            return ", ".join(repr(s) for s in v[:3]) + (f" and {len(v) - 3} more" if len(v) > 3 else "")
        parts = ([f"no label for sequence(s) {show(missing)}"] if missing else []) + \
                ([f"labels for unknown sequence(s) {show(extra)}"] if extra else [])
        raise ValueError(f"--labels: {table.path} does not match the data ({len(seqs)} sequences, {len(mapping)} labels): "
                         f"{'; '.join(parts)}")
    return Sequences(seqs.x, [mapping[s] for s in seqs.ids], seqs.features, seqs.ids)


def load_sequences(path, labels=None, id_col="id", time_col="time", label_col="label", features=None,
                   need_label: bool = True, what: str = "--data") -> Sequences:
    """Load .npz or long-format CSV (module docstring), then a labels file if given.

    ``what`` names the file in error messages (the CLI option it came from)."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        if features is not None:
            raise ValueError("--features: applies to CSV data; .npz data uses every feature of x")
        seqs = load_npz(p, what)
    else:
        seqs = load_csv(p, id_col, time_col, label_col, features, need_label=need_label and labels is None,
                        what=what)
    if labels is not None:
        if seqs.labels is not None:
            raise ValueError(f"--labels: {p} already holds labels; drop --labels or the labels in the data")
        seqs = apply_labels_file(seqs, labels, id_col if p.suffix.lower() != ".npz" else "id", label_col)
    if need_label and seqs.labels is None:
        where = "no array 'y'" if p.suffix.lower() == ".npz" else f"no column {label_col!r}"
        raise ValueError(f"{what}: {p} has {where}; give labels in the data or with --labels FILE")
    F = {s.shape[1] for s in seqs.x}
    if len(F) != 1:
        raise ValueError(f"{what}: sequences in {p} have different numbers of features {sorted(F)}")
    return seqs


def pad(xs: list[np.ndarray], dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """N arrays (T_i, F) -> time-major (T, N, F) zero-padded, and lengths (N,)."""
    lengths = np.array([s.shape[0] for s in xs], dtype=np.int64)
    T, F = int(lengths.max()), xs[0].shape[1]
    out = np.zeros((T, len(xs), F), dtype=dtype)
    for b, s in enumerate(xs):
        out[: s.shape[0], b] = s
    return out, lengths
