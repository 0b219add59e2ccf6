"""Sequence to sequence on one's own pairs: ``lstmkit train seq2seq`` and ``lstmkit predict`` on its runs.

The data is a two-column file (``lstmkit.seq2seq.data``). Both vocabularies are the symbol sets of the
whole file (as the text task's), so a held-out pair has no unknown symbol; the held-out pairs are a
random ``val_fraction`` of the file drawn from the run's seed. An epoch is one pass over the training
pairs in shuffled minibatches with teacher forcing (``Seq2Seq.loss``: cross-entropy per real target
symbol, <eos> included); the epoch loop (``training.trainer.fit``) does the weight steps, gradient
clipping, early stopping on the held-out token loss, checkpoints and exact resume.

Per epoch the held-out pairs give the teacher-forced token loss (``val_loss``, what early stopping
watches) and token accuracy. At the end they are decoded greedily: exact-match and per-token accuracy,
overall and by source length, beside two baselines: copying the source, and always answering the most
frequent training target.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..seq2seq import tasks as T
from ..seq2seq.batch import make_batch
from ..seq2seq.data import JOINERS, Pairs, read_pairs
from ..seq2seq.decoding import translate
from ..seq2seq.model import Seq2Seq
from ..seq2seq.vocabulary import Vocabulary
from .common import batches

EVAL_CHUNK = 256          # pairs per forward when evaluating


def model_for(cfg, source_vocab: Vocabulary, target_vocab: Vocabulary) -> Seq2Seq:
    """The config's model; weights from cfg.seed."""
    return Seq2Seq(source_vocab, target_vocab, dtype=cfg.dtype, seed=cfg.seed, cell_options=cfg.cell_options,
                   hidden_size=cfg.hidden_size, num_layers=cfg.num_layers, embedding=cfg.embedding,
                   embed_size=cfg.embed_size, bidirectional=cfg.bidirectional, attention=cfg.attention,
                   attention_size=cfg.attention_size, input_feeding=cfg.input_feeding, bridge=cfg.bridge)


class Seq2SeqTask:
    item_unit = "pair"

    def __init__(self, pairs: Pairs, cfg):
        if pairs.targets is None:
            raise ValueError("--data: expected source<TAB>target pairs, got sources alone")
        n = len(pairs)
        if n < 2:
            raise ValueError(f"--data: {n} pair; training needs at least 2 (one to learn from, one held out)")
        self.cfg, self.pairs = cfg, pairs
        self.source_vocab = Vocabulary.build(pairs.sources, "--data (sources)")
        self.target_vocab = Vocabulary.build(pairs.targets, "--data (targets)")
        self.src = [self.source_vocab.ids(s) for s in pairs.sources]
        self.tgt = [self.target_vocab.ids(t) for t in pairs.targets]
        order = np.random.default_rng([cfg.seed, 2]).permutation(n)
        n_val = min(max(1, int(round(cfg.val_fraction * n))), n - 1)
        self.val_idx, self.train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        self.items_per_epoch = int(self.train_idx.size)

    def build_model(self) -> Seq2Seq:
        return model_for(self.cfg, self.source_vocab, self.target_vocab)

    def _batch(self, idx):
        return make_batch([self.src[i] for i in idx], [self.tgt[i] for i in idx])

    def train_epoch(self, net, guard, rng, bar) -> dict:
        total, tokens = 0.0, 0
        for k, i in enumerate(batches(self.train_idx.size, self.cfg.batch_size, rng)):
            guard.ctx.batch = k + 1
            value = net.loss(self._batch(self.train_idx[i]))
            guard.check_loss(value)
            net.backward()
            guard.step(net)
            total, tokens = total + net.last_stats["loss_sum"], tokens + net.last_stats["tokens"]
            bar.update(len(i))
        return {"train_loss": total / max(tokens, 1)}

    def evaluate(self, net) -> dict:
        total, tokens, correct = 0.0, 0, 0
        for start in range(0, self.val_idx.size, EVAL_CHUNK):
            net.loss(self._batch(self.val_idx[start : start + EVAL_CHUNK]), reduction="sum")
            s = net.last_stats
            total, tokens, correct = total + s["loss_sum"], tokens + s["tokens"], correct + s["correct"]
        return {"val_loss": total / tokens, "val_token_accuracy": correct / tokens}

    def epoch_line(self, r: dict, epochs: int) -> str:
        return (f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.4f}  val loss {r['val_loss']:.4f}  "
                f"val token accuracy {r['val_token_accuracy']:.4f} (teacher forced)  ({r['seconds']:.1f} s)")

    def data_state(self) -> dict:
        return {"kind": "seq2seq", "tokens": self.cfg.tokens, "pairs": len(self.pairs),
                "train_pairs": int(self.train_idx.size), "val_pairs": int(self.val_idx.size),
                "source_symbols": self.source_vocab.size - 3, "target_symbols": self.target_vocab.size - 3}

    def summary(self, net, fit) -> dict:
        idx = self.val_idx
        hyps = translate(net, [self.src[i] for i in idx])
        outs = [self.target_vocab.symbols(h.tokens) for h in hyps]
        pairs = [(self.pairs.sources[i], self.pairs.targets[i]) for i in idx]
        table = T.accuracy_by_length(pairs, outs)
        common = Counter(tuple(self.pairs.targets[i]) for i in self.train_idx).most_common(1)[0][0]
        copy = [s for s, _ in pairs]
        val = {"exact_match": float(np.mean([list(t) == o for (_, t), o in zip(pairs, outs)])),
               "token_accuracy": float(np.mean([T.token_accuracy(t, o) for (_, t), o in zip(pairs, outs)])),
               "loss": fit.state.best_loss, "pairs": int(idx.size), "decoding": "greedy",
               "by_source_length": {str(k): v for k, v in table.items()}}
        base = {"copy_source": {"exact_match": float(np.mean([list(s) == list(t) for s, t in pairs]))},
                "most_frequent_target": {"target": JOINERS[self.cfg.tokens](common),
                                         "exact_match": float(np.mean([tuple(t) == common for _, t in pairs]))}}
        return {"validation": val, "baselines": base}

    def report_lines(self, summary: dict) -> list[str]:
        v, b = summary["validation"], summary["baselines"]
        out = [f"validation ({v['pairs']} pairs, greedy decoding):",
               f"  seq2seq exact match    {v['exact_match']:.4f}   token accuracy {v['token_accuracy']:.4f}",
               f"  copy the source        {b['copy_source']['exact_match']:.4f}",
               f"  most frequent target   {b['most_frequent_target']['exact_match']:.4f}  "
               f"(always {b['most_frequent_target']['target']!r})",
               "  by source length:  length  pairs  exact  token"]
        for n, r in v["by_source_length"].items():
            out.append(f"                     {n:>6} {r['n']:>6}  {r['exact']:.3f}  {r['token']:.3f}")
        return out


def load_task(cfg) -> Seq2SeqTask:
    return Seq2SeqTask(read_pairs(cfg.data, cfg.tokens, "--data"), cfg)


class Seq2SeqPredictor:
    """A seq2seq run's answers: ``decode(sources)`` -> hypotheses (symbols, score, attention)."""

    def __init__(self, model: Seq2Seq, tokens: str):
        self.model, self.tokens = model, tokens

    @classmethod
    def from_run(cls, run) -> "Seq2SeqPredictor":
        from ..seq2seq.saving import load

        state = run.data_state()
        if not (run.path / "model").is_dir():
            raise ValueError(f"RUN_DIR: {run.path} has no final model yet (training did not finish); "
                             f"finish it with lstmkit train --resume {run.path}")
        return cls(load(run.path / "model"), state["tokens"])

    def read(self, path, what: str = "--input") -> Pairs:
        return read_pairs(path, self.tokens, what, need_target=False)

    def decode(self, sources: list[list[str]], beam: int = 1, max_len: int | None = None,
               length_penalty: float = 0.0, where: list[str] | None = None):
        """Hypotheses for ``sources``; ``where[i]`` names source i in an error (default "source i+1")."""
        where = where or [f"source {i + 1}" for i in range(len(sources))]
        ids = [self.model.source_vocab.ids(s, w) for s, w in zip(sources, where)]
        return translate(self.model, ids, beam=beam, max_len=max_len, length_penalty=length_penalty)

    def join(self, symbols: list[str]) -> str:
        return JOINERS[self.tokens](symbols)

    def text(self, hyp) -> str:
        return self.join(self.model.target_vocab.symbols(hyp.tokens))
