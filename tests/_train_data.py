"""Small synthetic data files for the train/estimator tests (deterministic, written into a tmp dir)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def series_csv(path: Path, n: int = 240, seed: int = 0, shuffled: bool = False) -> Path:
    """Monthly series with trend + season 12 + noise, an exogenous column, a date column."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 10 + 0.02 * t + 2 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, n)
    x2 = np.cos(2 * np.pi * t / 12) + rng.normal(0, 0.1, n)
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d},{y[i]:.4f},{x2[i]:.4f}" for i in range(n)]
    if shuffled:
        rows = [rows[i] for i in rng.permutation(n)]
    path.write_text("date,y,x2\n" + "\n".join(rows) + "\n")
    return path


def corpus(path: Path, n_words: int = 1500, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    words = "the quick brown fox jumps over the lazy dog and runs far away from home".split()
    path.write_text(" ".join(rng.choice(words, n_words)) + "\n")
    return path


def sequences(n: int = 60, seed: int = 0):
    """Three classes of variable-length 2-feature sequences."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(n):
        T, c = int(rng.integers(6, 16)), i % 3
        t = np.arange(T)
        s = np.column_stack([np.sin(t * (0.3 + 0.4 * c)) + rng.normal(0, 0.2, T), rng.normal(c, 1.0, T)])
        xs.append(s)
        ys.append("abc"[c])
    return xs, ys


def sequences_npz(path: Path, n: int = 60, seed: int = 0) -> Path:
    xs, ys = sequences(n, seed)
    np.savez(path, x=np.concatenate(xs), lengths=np.array([len(s) for s in xs]), y=np.array(ys))
    return path


def sequences_csv(path: Path, n: int = 60, seed: int = 0, with_label: bool = True) -> Path:
    xs, ys = sequences(n, seed)
    lines = ["id,time,f1,f2" + (",label" if with_label else "")]
    for i, (s, y) in enumerate(zip(xs, ys)):
        for t in range(len(s)):
            lines.append(f"s{i},{t},{s[t, 0]:.5f},{s[t, 1]:.5f}" + (f",{y}" if with_label else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def weights(run_dir: Path) -> dict[str, np.ndarray]:
    with np.load(Path(run_dir) / "model" / "weights.npz") as z:
        return {k: z[k] for k in z.files}


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
