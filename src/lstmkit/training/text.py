"""Character-level language model: a stacked LSTM reads one character per step and predicts the next.

Training (``algorithm="tbptt"``, the default): the training text is cut into B parallel streams
(``lstmkit.data.text.streams``); each epoch walks them in chunks of ``seq_len`` characters, one weight
step per chunk, and the final state of a chunk is the initial state of the next (truncated BPTT with
k1 = k2 = seq_len; gradients stop at chunk borders, the state does not). ``algorithm="bptt"`` starts
every chunk from a zero state instead (independent sequences). The state is zero at the start of
every epoch, so an epoch depends only on the weights and the optimiser state (exact resume).

Held-out bits per character: the held-out text is read the same way (its own parallel streams, state
carried, weights frozen); bpc = mean over held-out characters of -log2 p(next char). The unigram
baseline is ``lstmkit.data.text.unigram_bpc``.
"""
from __future__ import annotations

import math

import numpy as np

from ..data import text as TX
from .common import mean_loss


class TextTask:
    item_unit = "char"

    def __init__(self, text: str, cfg, vocab: list[str] | None = None):
        self.cfg = cfg
        self.vocab = vocab or TX.build_vocab(text)
        ids = TX.encode(text, self.vocab, "--data")
        n = ids.size
        n_val = max(2, int(round(cfg.val_fraction * n)))
        n_train = n - n_val
        if n_train < 2 * cfg.batch_size:
            raise ValueError(f"--data: corpus too short: {n} characters leave {n_train} for training, fewer than "
                             f"2 per stream for --batch-size {cfg.batch_size}; give more text or lower --batch-size")
        self.train_ids, self.val_ids = ids[:n_train], ids[n_train - 1:]      # held-out: predict ids[n_train:]
        self.x, self.t = TX.streams(self.train_ids, cfg.batch_size)            # (L, B) each
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
            x = TX.one_hot(self.x[a:b], self.V, self.dtype)
            tgt = TX.one_hot(self.t[a:b], self.V, self.dtype)
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
                f"  {'unigram':<14}{b['unigram']['bpc']:>10.4f}"] + \
            ([f"  {summary['state_drift']['message']}"] if "state_drift" in summary else [])


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
