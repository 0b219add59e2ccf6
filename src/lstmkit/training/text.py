"""Character-level language model: a stacked LSTM reads one character per step and predicts the next.

Training (``algorithm="tbptt"``, the default): the training text is cut into B parallel streams
(``lstmkit.data.text.streams``); each epoch walks them in chunks of ``seq_len`` characters, one weight
step per chunk, and the final state of a chunk is the initial state of the next (truncated BPTT with
k1 = k2 = seq_len; gradients stop at chunk borders, the state does not). ``algorithm="bptt"`` starts
every chunk from a zero state instead (independent sequences). The state is zero at the start of
every epoch, so an epoch depends only on the weights and the optimiser state (exact resume).

Updates per epoch. An epoch makes U = ceil(L / seq_len) weight steps, L = (n_train - 1) // B characters
per stream, so for a given text more streams mean fewer steps: 32 streams of a 35 kB text (the GPL-3)
make 10 per epoch, and 10 epochs of that learn nothing (held-out 5.02 bits/char, unigram 5.05; with
"auto", 3 streams and 106 steps per epoch, 3.87).
``batch_size="auto"`` (the default) therefore picks B from the corpus (:func:`auto_streams`), and any run
set up to make fewer than 50 steps per epoch gets a :class:`TrainingSetupWarning` saying what to change.
The resolved B is ``task.cfg.batch_size`` and ``streams`` in the run's data state; it is a function of
the saved config and the text (whose SHA-256 ``--resume`` checks), so a resumed run resolves the same B.

Held-out bits per character: the held-out text is read the same way (its own parallel streams, state
carried, weights frozen); bpc = mean over held-out characters of -log2 p(next char). The unigram
baseline is ``lstmkit.data.text.unigram_bpc``.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from ..data import text as TX
from .common import mean_loss

AUTO_UPDATES = 100        # batch_size="auto": as many streams as leave at least this many steps per epoch...
AUTO_MAX_STREAMS = 32     # ...but no more than this (the fixed default before "auto": large texts train as before)
MIN_UPDATES = 50          # fewer steps per epoch than this: TrainingSetupWarning


class TrainingSetupWarning(UserWarning):
    """A run's settings leave it too few weight updates to learn from (filterable by this category)."""


def auto_streams(n_train: int, seq_len: int) -> int:
    """B for ``batch_size="auto"``: (n_train - 1) // (100 seq_len), clipped to 1..32.

    That B leaves L >= 100 seq_len characters per stream, so at least 100 steps per epoch whenever the
    text allows one stream that long; a large corpus gets 32 streams (the fixed default before "auto").
    """
    return min(AUTO_MAX_STREAMS, max(1, (n_train - 1) // (AUTO_UPDATES * seq_len)))


def updates_per_epoch(n_train: int, streams: int, seq_len: int) -> int:
    """Weight steps of one epoch: ceil(L / seq_len), L = (n_train - 1) // streams characters per stream."""
    return -(-((n_train - 1) // streams) // seq_len)


def embedding_keep(rng: np.random.Generator, p: float, V: int, dtype) -> np.ndarray:
    """Embedding dropout (Gal & Ghahramani 2016, §4.2; Merity et al. 2018): (V,) keep mask, scaled.

    A dropped symbol is zero wherever it occurs in the mini-batch: keep_v ~ Bernoulli(1 - p) / (1 - p).
    With one-hot inputs, x . keep enters the first layer as W (x . keep) = (W diag(keep)) x, so this
    is exactly dropout on the columns of W, the symbols' embeddings.
    """
    return (rng.random(V) >= p).astype(dtype) / (1.0 - p)


class TextTask:
    item_unit = "char"

    def __init__(self, text: str, cfg, vocab: list[str] | None = None):
        self.vocab = vocab or TX.build_vocab(text)
        ids = TX.encode(text, self.vocab, "--data")
        n = ids.size
        n_val = max(2, int(round(cfg.val_fraction * n)))
        n_train = n - n_val
        auto = cfg.batch_size == "auto"
        B = auto_streams(n_train, cfg.seq_len) if auto else cfg.batch_size
        if n_train < 2 * B:
            raise ValueError(f"--data: corpus too short: {n} characters leave {n_train} for training, fewer than "
                             f"2 per stream for {B} stream(s); give more text"
                             + ("" if auto else " or lower --batch-size"))
        self.cfg = cfg = dataclasses.replace(cfg, batch_size=B)
        self.updates = updates_per_epoch(n_train, B, cfg.seq_len)
        if self.updates < MIN_UPDATES:
            _warn(_few_updates(n_train, B, cfg.seq_len, self.updates, auto))
        self.train_ids, self.val_ids = ids[:n_train], ids[n_train - 1:]      # held-out: predict ids[n_train:]
        self.x, self.t = TX.streams(self.train_ids, B)                         # (L, B) each
        n_eval = max(1, min(16, (self.val_ids.size - 1) // (4 * cfg.seq_len)))
        self.vx, self.vt = TX.streams(self.val_ids, n_eval)
        self.V = len(self.vocab)
        self.items_per_epoch = int(self.x.size)
        self.dtype = np.dtype(cfg.dtype)

    def _chunks(self, L: int):
        for start in range(0, L, self.cfg.seq_len):
            yield start, min(L, start + self.cfg.seq_len)

    def train_epoch(self, net, guard, rng, bar) -> dict:
        state, total, n = None, 0.0, 0
        for k, (a, b) in enumerate(self._chunks(self.x.shape[0])):
            guard.ctx.batch = k + 1
            x = TX.one_hot(self.x[a:b], self.V, self.dtype)                 # (T, B, V)
            tgt = TX.one_hot(self.t[a:b], self.V, self.dtype)
            if self.cfg.embedding_dropout:
                x *= embedding_keep(rng, self.cfg.embedding_dropout, self.V, self.dtype)
            out, stateT = net.forward(x, state)
            value, dout = mean_loss("cross_entropy", out, tgt, None)
            guard.check_loss(value)
            net.backward(dout)
            guard.step(net)
            state = stateT if self.cfg.algorithm == "tbptt" else None
            total, n = total + value * x.shape[0] * x.shape[1], n + x.shape[0] * x.shape[1]
            bar.update(x.shape[0] * x.shape[1])
        return {"train_loss": total / max(n, 1), "train_bpc": total / max(n, 1) / math.log(2)}

    def evaluate(self, net, drift: bool = False) -> dict:
        """Held-out loss; ``drift=True`` (1997 cells) also watches the cell states along the stream."""
        from ..health import DriftMonitor

        monitor = DriftMonitor(net) if drift else None
        state, nats, n = None, 0.0, 0
        for a, b in self._chunks(self.vx.shape[0]):
            out, state = net.forward(TX.one_hot(self.vx[a:b], self.V, self.dtype), state)
            if monitor is not None:
                monitor.observe()
            p = np.take_along_axis(out, self.vt[a:b, :, None].astype(np.intp), axis=2)[..., 0]
            nats += float(-np.log(np.maximum(p.astype(np.float64), 1e-300)).sum())
            n += p.size
        res = {"val_loss": nats / n, "val_bpc": nats / n / math.log(2)}
        if monitor is not None:
            res["drift"] = monitor.report()
        return res

    def baselines(self) -> dict:
        return {"unigram": {"bpc": TX.unigram_bpc(self.train_ids, self.val_ids[1:], self.V)}}

    def epoch_line(self, r: dict, epochs: int) -> str:
        return (f"epoch {r['epoch']:>3}/{epochs}  train bpc {r['train_bpc']:.4f}  held-out bpc {r['val_bpc']:.4f}  "
                f"({r['seconds']:.1f} s, {r['throughput']:.0f} char/s)")

    def data_state(self) -> dict:
        counts = np.bincount(self.train_ids, minlength=self.V)
        return {"kind": "text", "vocab": self.vocab, "train_chars": int(self.train_ids.size),
                "val_chars": int(self.val_ids.size - 1), "streams": int(self.cfg.batch_size),
                "updates_per_epoch": int(self.updates),
                "unigram_counts": [int(c) for c in counts]}

    def summary(self, net, fit) -> dict:
        # 1997 cells without a forget gate may drift on a continual stream (the paper's Section 4):
        # the held-out stream is read in one go with the state carried, so it is watched there.
        val = self.evaluate(net, drift=self.cfg.cell == "lstm1997")
        out = {"validation": {"bpc": val["val_bpc"], "loss": val["val_loss"], "chars": int(self.val_ids.size - 1)},
               "baselines": self.baselines()}
        if "drift" in val:
            r = val["drift"]
            out["state_drift"] = {"steps": r.steps, "max_abs_state": r.max_abs_state,
                                  "saturated_fraction": r.saturated_fraction, "drifting": r.drifting,
                                  "message": r.message()}
        return out

    def report_lines(self, summary: dict) -> list[str]:
        v, b = summary["validation"], summary["baselines"]
        return [f"held-out text ({v['chars']} characters, vocabulary {self.V}):",
                f"  {'':<14}{'bits/char':>10}",
                f"  {'LSTM':<14}{v['bpc']:>10.4f}",
                f"  {'unigram':<14}{b['unigram']['bpc']:>10.4f}",
                f"trained in {self.cfg.batch_size} stream(s) of {self.x.shape[0]} characters, chunks of "
                f"{self.cfg.seq_len}: {self.updates} weight updates per epoch"] + \
            ([f"  {summary['state_drift']['message']}"] if "state_drift" in summary else [])


def _few_updates(n_train: int, B: int, seq_len: int, U: int, auto: bool) -> str:
    """The warning for a run of fewer than MIN_UPDATES steps per epoch: how many, and what to change."""
    what = (f"{n_train} training characters in {B} stream(s), read in chunks of --seq-len {seq_len}, make only "
            f"{U} weight updates per epoch (fewer than {MIN_UPDATES}): too few to learn from")
    if auto or B == 1:
        return f"{what}; give more text or lower --seq-len (to {max(1, (n_train - 1) // MIN_UPDATES)} or less)"
    best = auto_streams(n_train, seq_len)
    if updates_per_epoch(n_train, best, seq_len) < MIN_UPDATES:
        return f"{what}; lower --batch-size to 1 and --seq-len, or give more text"
    return f"{what}; leave --batch-size unset (it would choose {best}) or lower it"


_REGISTRY: dict = {}      # warn_explicit's memory: each distinct message once per process, as warnings.warn does


def _warn(message: str) -> None:
    # One line: a location of "lstmkit:0" has no source line for Python to print under the message.
    warnings.warn_explicit(message, TrainingSetupWarning, "lstmkit", 0, module=__name__, registry=_REGISTRY)


def generate(net, vocab: list[str], prime: str, length: int, temperature: float, rng: np.random.Generator) -> str:
    """Sample ``length`` characters after ``prime`` (the prime is read first, state carried)."""
    V = len(vocab)
    ids = TX.encode(prime, vocab, "--prime")
    state, out = None, None
    for i in ids:                      # one step at a time: the same computation as sampling
        out, state = net.forward(TX.one_hot(np.array([[i]]), V, net.dtype), state)
    chars = []
    for _ in range(length):
        p = out[0, 0].astype(np.float64)
        logp = np.log(np.maximum(p, 1e-300)) / temperature
        q = np.exp(logp - logp.max())
        q /= q.sum()
        i = int(rng.choice(V, p=q))
        chars.append(vocab[i])
        out, state = net.forward(TX.one_hot(np.array([[i]]), V, net.dtype), state)
    return "".join(chars)
