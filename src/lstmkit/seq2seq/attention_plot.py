"""The attention weights of one decoded sequence as a heat map (output symbols x source symbols).

Row t is a_t, the weights the decoder gave the source positions when it produced output symbol t
(the last row: <eos>); each row sums to 1. Drawn with lstmkit's figure conventions (``lstmkit.plots``:
Agg backend, rendered to memory, written atomically).
"""
from __future__ import annotations

import numpy as np

from ..plots import pyplot, save_png


def attention_figure(weights: np.ndarray, source: list[str], output: list[str], path, title: str = "",
                     ended: bool = True) -> None:
    """``weights`` (len(output) + 1, len(source)): a row per output symbol and the final <eos> (if ``ended``)."""
    w = np.asarray(weights, dtype=np.float64)
    rows = list(output) + (["<eos>"] if ended else [])
    if w.shape != (len(rows), len(source)):
        raise ValueError(f"attention_figure: expected weights of shape {(len(rows), len(source))} (output symbols, "
                         f"source symbols), got {w.shape}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.0 + 0.38 * len(source), 1.0 + 0.38 * len(rows)))
    im = ax.imshow(w, aspect="equal", interpolation="nearest", cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(source)), [repr(s)[1:-1] or " " for s in source])
    ax.set_yticks(range(len(rows)), [r if r == "<eos>" else repr(r)[1:-1] for r in rows])
    ax.set_xlabel("source symbol")
    ax.set_ylabel("output symbol")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    if title:
        ax.set_title(title, fontsize=9, pad=24)
    save_png(fig, path)
    plt.close(fig)
