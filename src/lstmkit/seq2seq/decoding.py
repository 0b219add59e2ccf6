"""Decoding without the target: greedy, and beam search (Sutskever et al. 2014, section 3.1).

Both read a *stepper*: ``start()`` gives the initial state, ``step(tokens, state)`` gives
log p(next | prefix) (n, V) for n prefixes, their new state and the attention weights (n, S) or None,
and a state has ``select(idx)`` (reorders / repeats hypotheses). :class:`ModelStepper` is the model's;
the tests also drive the search with a hand-made stepper whose greedy choice is a trap.

Greedy: y_t = argmax_v log p(v | y_<t, x), until <eos> or ``max_len`` symbols (<eos> counts).

Beam search keeps the k best prefixes by score s(y_<=t) = sum_t log p(y_t | y_<t, x)::

    candidates = {prefix + v : prefix alive, v in vocabulary},   s(prefix + v) = s(prefix) + log p(v | prefix)
    of the 2k best candidates: those ending in <eos> among the best k are finished hypotheses;
    the best k not ending in <eos> stay alive (fairseq's and OpenNMT's rule)
    stop: k finished, or no alive prefix can still beat the best finished one (with alpha = 0 a
    score only falls), or max_len steps; then the alive ones count as finished (no <eos>)
    answer: the finished hypothesis of the highest  s(y) / |y|^alpha   (|y| = symbols incl. <eos>)

alpha = ``length_penalty`` = 0 is the plain sum of log-probabilities; alpha = 1 the mean per symbol
(a longer answer is not penalised for having more terms). Width k = 1 is greedy decoding exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .vocabulary import BOS, EOS


@dataclass
class Hypothesis:
    tokens: list[int]                        # the output symbols, without <bos> and without <eos>
    score: float                             # sum of log p of the symbols produced (incl. <eos> if ended)
    ended: bool                              # True if it produced <eos>
    attention: list = field(default_factory=list)  # one (S,) row of weights per produced symbol

    @property
    def length(self) -> int:
        return len(self.tokens) + (1 if self.ended else 0)

    def normalised(self, alpha: float) -> float:
        return self.score / max(self.length, 1) ** alpha if alpha else self.score

    def attention_matrix(self) -> np.ndarray | None:
        """(steps, S) the weights of each produced symbol (incl. <eos>) over the source, or None."""
        return None if not self.attention or self.attention[0] is None else np.stack(self.attention)


class ModelStepper:
    """The stepper of a :class:`~lstmkit.seq2seq.model.Seq2Seq` for one encoded batch."""

    def __init__(self, model, enc):
        self.model, self.enc = model, enc
        self._tiled: dict[int, object] = {}

    def start(self):
        return self.model.start(self.enc)

    def _enc_for(self, n: int):
        B = self.enc.mem.shape[1]
        if n == B:
            return self.enc
        if B != 1:
            raise ValueError(f"stepper: {n} prefixes for a batch of {B} sources; beam search decodes one source")
        if n not in self._tiled:
            self._tiled[n] = self.enc.select(np.zeros(n, dtype=np.intp))
        return self._tiled[n]

    def step(self, tokens, state):
        return self.model.step(tokens, state, self._enc_for(len(tokens)))


def greedy(stepper, batch_size: int, max_len) -> list[Hypothesis]:
    """Greedy decoding of ``batch_size`` sources at once; ``max_len`` an int or (B,) ints."""
    limit = np.broadcast_to(np.asarray(max_len, dtype=np.int64), (batch_size,))
    hyps = [Hypothesis([], 0.0, False) for _ in range(batch_size)]
    done = limit < 1
    tokens = np.full(batch_size, BOS, dtype=np.int64)
    state = stepper.start()
    t = 0
    while not done.all():
        logp, state, a = stepper.step(tokens, state)                         # (B, V)
        tokens = logp.argmax(axis=1)                                         # y_t = argmax log p
        for b in np.flatnonzero(~done):
            h = hyps[b]
            h.score += float(logp[b, tokens[b]])
            h.attention.append(None if a is None else a[b].astype(np.float64))
            if tokens[b] == EOS:
                h.ended = True
            else:
                h.tokens.append(int(tokens[b]))
        t += 1
        done |= (tokens == EOS) | (t >= limit)
    return hyps


def beam_search(stepper, k: int, max_len: int, length_penalty: float = 0.0) -> Hypothesis:
    """The best hypothesis for one source (the stepper's batch of 1) by beam search of width k."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"beam: expected a width k >= 1, got {k!r}")
    if not (np.isfinite(length_penalty) and length_penalty >= 0):
        raise ValueError(f"length_penalty: expected a number >= 0, got {length_penalty!r}")
    alive = [Hypothesis([], 0.0, False)]
    finished: list[Hypothesis] = []
    state = stepper.start()
    tokens = np.array([BOS], dtype=np.int64)
    for _ in range(max_len):
        logp, state, a = stepper.step(tokens, state)                         # (n, V)
        scores = np.array([h.score for h in alive])[:, None] + logp          # (n, V) s(prefix + v)
        V = scores.shape[1]
        order = np.argsort(-scores, axis=None, kind="stable")[: 2 * k]
        keep, nxt = [], []
        for rank, j in enumerate(order):
            b, v = divmod(int(j), V)
            h = alive[b]
            row = None if a is None else a[b].astype(np.float64)
            if v == EOS:
                if rank < k:
                    finished.append(Hypothesis(list(h.tokens), float(scores[b, v]), True, h.attention + [row]))
                continue
            if len(keep) < k:
                keep.append(b)
                nxt.append(Hypothesis(h.tokens + [v], float(scores[b, v]), False, h.attention + [row]))
        alive = nxt
        if len(finished) >= k or not alive:
            break
        if length_penalty == 0 and finished and max(f.score for f in finished) >= max(h.score for h in alive):
            break                                                            # scores only fall from here
        state = state.select(np.array(keep, dtype=np.intp))
        tokens = np.array([h.tokens[-1] for h in alive], dtype=np.int64)
    pool = finished or alive
    return max(pool, key=lambda h: h.normalised(length_penalty))


def default_max_len(source_length: int) -> int:
    """Output symbols allowed for a source of n symbols when none is given: 2 n + 10."""
    return 2 * int(source_length) + 10


def translate(model, sources: list[np.ndarray], beam: int = 1, max_len: int | None = None,
              length_penalty: float = 0.0, chunk: int = 256) -> list[Hypothesis]:
    """Decode id sequences ``sources``: greedy (``beam=1``, batched) or beam search (one at a time).

    ``max_len=None`` allows ``default_max_len`` symbols per source.
    """
    out: list[Hypothesis] = []
    if beam == 1:
        for start in range(0, len(sources), chunk):
            part = sources[start : start + chunk]
            limits = [default_max_len(len(s)) if max_len is None else max_len for s in part]
            out += greedy(ModelStepper(model, model.encode_ids(part)), len(part), np.array(limits))
        return out
    for s in sources:
        limit = default_max_len(len(s)) if max_len is None else max_len
        out.append(beam_search(ModelStepper(model, model.encode_ids([s])), beam, limit, length_penalty))
    return out


def sequence_score(model, source: np.ndarray, target: list[int]) -> float:
    """log p(target <eos> | source) under the model: the score beam search ranks by (alpha = 0)."""
    stepper = ModelStepper(model, model.encode_ids([source]))
    state, tokens, total = stepper.start(), np.array([BOS]), 0.0
    for y in list(target) + [EOS]:
        logp, state, _ = stepper.step(tokens, state)
        total += float(logp[0, y])
        tokens = np.array([y])
    return total
