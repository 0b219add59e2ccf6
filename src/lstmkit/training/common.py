"""Pieces every task shares: building the network and the optimiser, per-target mean losses, batching."""
from __future__ import annotations

import numpy as np

from ..learn.optim import make_optimizer
from ..losses import get_loss
from ..data.sequences import pad
from ..network import LSTM, Network, Readout


def build_network(cfg, input_size: int, output_size: int, activation: str) -> Network:
    """The config's recurrent stack and a readout; weights from cfg.seed (readout: cfg.seed + 1)."""
    rnn = LSTM(input_size, cfg.hidden_size, num_layers=cfg.num_layers, cell=cfg.cell, dtype=cfg.dtype,
               seed=cfg.seed, **cfg.cell_options)
    return Network(rnn, Readout(rnn.output_size, output_size, activation, dtype=cfg.dtype, seed=cfg.seed + 1))


def build_optimizer(cfg):
    if cfg.algorithm == "rtrl1997":
        return None                      # the paper's rule changes the weights itself, online
    return make_optimizer(cfg.optimizer, lr=cfg.lr, clip_norm=cfg.clip_norm)


def mean_loss(name: str, out: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss averaged over the target entries (steps x units for SSE, steps for cross-entropy) and its gradient.

    Averaging makes the learning rate and ``clip_norm`` independent of batch size and sequence length.
    """
    value, dout = get_loss(name)(out, target, mask, "sum")
    n = float(np.count_nonzero(mask)) if mask is not None else float(np.prod(out.shape[:-1]))
    if name == "half_sse":
        n *= out.shape[-1]
    n = max(n, 1.0)
    return value / n, dout / np.asarray(n, dtype=dout.dtype)


def batches(n: int, batch_size: int, rng: np.random.Generator | None):
    """Index arrays of the minibatches of one epoch (shuffled when rng is given)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def rtrl1997_learner(net, cfg):
    """The paper's online learner, or a clear error when lstmkit.learn.rtrl1997 is not usable here."""
    try:
        from ..learn.rtrl1997 import RTRL1997
    except ImportError as e:  # pragma: no cover - the module ships with lstmkit
        raise ValueError(f"--algorithm rtrl1997 is not available in this installation ({e}); use bptt") from None
    return RTRL1997(net, lr=cfg.lr, update="step")


def bptt_epoch(net, guard, rng, bar, train_idx: np.ndarray, batch_size: int, make_batch, loss: str) -> dict:
    """One epoch of minibatch full BPTT over sequences ``train_idx``; ``make_batch(idx)`` pads them.

    ``make_batch`` returns ``(x, lengths, target, target_mask)``; the loss is averaged as ``mean_loss``.
    """
    total, n = 0.0, 0
    for k, i in enumerate(batches(train_idx.size, batch_size, rng)):
        guard.ctx.batch = k + 1
        x, lengths, tgt, mask = make_batch(train_idx[i])
        out, _ = net.forward(x, lengths=lengths)
        value, dout = mean_loss(loss, out, tgt, mask)
        guard.check_loss(value)
        net.backward(dout)
        guard.step(net)
        total, n = total + value * len(i), n + len(i)
        bar.update(len(i))
    return {"train_loss": total / max(n, 1)}


def last_step_outputs(net, xs: list[np.ndarray], dtype, chunk: int = 256) -> np.ndarray:
    """(n, K) network outputs at each sequence's last step, ``chunk`` sequences per forward."""
    res = []
    for start in range(0, len(xs), chunk):
        part = xs[start : start + chunk]
        x, lengths = pad(part, dtype)
        out, _ = net.forward(x, lengths=lengths)
        res.append(out[lengths - 1, np.arange(len(part))].astype(np.float64))
    return np.concatenate(res)
