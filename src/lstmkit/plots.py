"""Figures: learning curves of a run, gate activations and cell states over time.

matplotlib is imported on use with the Agg backend (no display needed) and is an optional
dependency (``pip install lstmkit[plot]``). Figures are rendered to memory and written atomically.
"""
from __future__ import annotations

import io

import numpy as np

METRIC = {"forecast": ("val_rmse", "validation RMSE"), "text": ("val_bpc", "held-out bits per character"),
          "classify": ("val_accuracy", "validation accuracy"),
          "seq2seq": ("val_token_accuracy", "held-out token accuracy (teacher forced)")}


def pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ValueError("plotting needs matplotlib, which is not installed; pip install 'lstmkit[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path, dpi: int = 110) -> None:
    """Render to memory, then write atomically (only over a regular file or to a new path)."""
    from ._atomic import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue(), make_parents=True, what="--out")


def _baseline_lines(task: str, summary: dict | None) -> list[tuple[str, float]]:
    if not summary:
        return []
    b = summary.get("baselines", {})
    if task == "forecast":
        out = [("persistence", b.get("persistence", {}).get("rmse"))]
        sn = b.get("seasonal_naive", {})
        out.append((f"seasonal naive (m={sn.get('period')})", sn.get("rmse")))
    elif task == "text":
        out = [("unigram", b.get("unigram", {}).get("bpc"))]
    elif task == "seq2seq":
        out = []                      # its baselines score whole answers (exact match), not tokens
    else:
        out = [("majority class", b.get("majority", {}).get("accuracy"))]
    return [(n, v) for n, v in out if v is not None]


def learning_curves(history: list[dict], task: str, path, summary: dict | None = None, title: str = "") -> None:
    """Two panels: train/validation loss per epoch; the task's validation metric with its baselines."""
    if not history:
        raise ValueError("plot: the run has no finished epoch yet; nothing to plot")
    plt = pyplot()
    ep = np.array([r["epoch"] for r in history])
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(ep, [r["train_loss"] for r in history], label="train loss")
    a.plot(ep, [r["val_loss"] for r in history], label="validation loss")
    if all(r["train_loss"] > 0 and r["val_loss"] > 0 for r in history):
        a.set_yscale("log")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend()
    key, label = METRIC[task]
    b.plot(ep, [r[key] for r in history], color="C1", label="LSTM")
    for k, (name, v) in enumerate(_baseline_lines(task, summary)):
        b.axhline(v, linestyle="--", color=f"C{k + 2}", label=name)
    if summary and summary.get("best_epoch"):
        for ax in (a, b):
            ax.axvline(summary["best_epoch"], color="grey", linewidth=0.8, linestyle=":")
    b.set_xlabel("epoch")
    b.set_ylabel(label)
    b.legend()
    fig.suptitle(title or f"{task} run")
    save_png(fig, path)
    plt.close(fig)


def internals_figure(internals: dict[str, np.ndarray], path, inputs: np.ndarray | None = None, title: str = "",
                     max_units: int = 64) -> None:
    """One heat map (units x time) per gate/state of every layer; the inputs on top when given."""
    plt = pyplot()
    names = list(internals)
    rows = len(names) + (inputs is not None)
    fig, axes = plt.subplots(rows, 1, figsize=(12, 1.3 * rows + 1), sharex=True, squeeze=False)
    axes = axes[:, 0]
    k = 0
    if inputs is not None:
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim == 2 and x.shape[1] <= 8:
            axes[0].plot(x)
        else:
            axes[0].imshow(x.T, aspect="auto", interpolation="nearest", cmap="Greys")
        axes[0].set_ylabel("input", rotation=0, ha="right")
        k = 1
    for name in names:
        a = np.asarray(internals[name], dtype=np.float64)[:, :max_units]   # (T, units)
        gate = name.rsplit(".", 1)[-1] in ("i", "f", "o", "in", "out", "forget")
        lim = float(np.max(np.abs(a))) or 1.0
        im = axes[k].imshow(a.T, aspect="auto", interpolation="nearest",
                            cmap="viridis" if gate else "RdBu_r",
                            vmin=0.0 if gate else -lim, vmax=1.0 if gate else lim)
        axes[k].set_ylabel(name, rotation=0, ha="right")
        fig.colorbar(im, ax=axes[k], fraction=0.02, pad=0.01)
        k += 1
    axes[-1].set_xlabel("step")
    fig.suptitle(title)
    save_png(fig, path)
    plt.close(fig)
