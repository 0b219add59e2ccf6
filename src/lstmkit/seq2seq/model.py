"""The encoder-decoder LSTM (Sutskever et al. 2014) with optional attention (Bahdanau 2015, Luong 2015).

Forward, for one padded batch (``lstmkit.seq2seq.batch``; E_src, E_tgt the embeddings, L layers)::

    x_s        = E_src[src_s]                                    (S, B, d)                     (M1)
    h_s, hT, cT = encoder(x, lengths)      lstmkit.network.LSTM, uni- or bidirectional, L layers
                                          h_s (S, B, M), M = D H; zero at padding              (M2)
    e_l        = [hT(l, forward); hT(l, backward)]               (B, D H) per layer l, and e_l^c from cT
    h_0^l      = e_l,  c_0^l = e_l^c                             when D H = H and no bridge     (M3)
    h_0^l      = tanh(W_h e_l + b_h),  c_0^l = W_c e_l^c + b_c    the bridge (shared by layers) (M3')
    per target step t = 1..T (teacher forcing: y_0 = <bos>, y_{t-1} the true previous symbol):
      ctx_t    = attend(h_{t-1}^L)                                Bahdanau: query = previous    (M4)
      u_t      = [E_tgt[y_{t-1}]; ctx_t (Bahdanau); h~_{t-1} (input feeding, h~_0 = 0)]      (M5)
      h_t^l, c_t^l = LSTMCell_l(u_t^l, h_{t-1}^l, c_{t-1}^l),   u_t^1 = u_t, u_t^{l+1} = h_t^l   (M6)
      ctx_t    = attend(h_t^L)                                    Luong: query = current        (M7)
      h~_t     = tanh(W_comb [ctx_t; h_t^L])   with attention;   h~_t = h_t^L without           (M8)
      z_t      = W_out h~_t + b_out,   p_t = softmax(z_t)                                      (M9)
    loss = sum_{t, b real} -log p_t[y_t] / N    (N = real target steps: "mean"; N = 1: "sum")  (M10)

``attend`` is :mod:`lstmkit.seq2seq.attention` (masked over source padding). Luong et al.'s
attentional hidden state (M8) has no bias, as in their eq. 5; Bahdanau's model uses the same output
layer here (their deep-output maxout layer is not built; see docs/seq2seq.md, deviations).

Backward mirrors it step by step, from t = T down to 1, carrying the error that step t+1 sent to the
state of step t: dh^l, dc^l (through the cells' own recurrence), dh~ (input feeding) and, with
Bahdanau's query, dq into h^L. The cells' backward is the cell contract of ``lstmkit.cells.base``
on T = 1 slices: ``backward(params, cache, dy, dstate, grads)`` with dy = the error at h_t^l from
above (the output layer or the next layer's input) and dstate = the error from step t+1::

    dz_t       = (p_t - onehot(y_t)) m_t / N                                                   (M9', M10')
    dh~_t      = dz_t W_out + dh~ (from u_{t+1})                                               (M9', M5')
    d[ctx; h^L] = (dh~_t (1 - h~_t^2)) W_comb                                                   (M8')
    dctx -> attention backward -> dq (added to dh_t^L), dK, dh_s                               (M7', A')
    cells, top to bottom: du^l, dstate_{t-1}^l = cell_l.backward(dy = ..., dstate = dh^l, dc^l)  (M6')
    du_t = [dE_tgt rows; dctx (Bahdanau: -> attention backward, dq into dh_{t-1}^L); dh~_{t-1}]  (M5', M4')
    after the loop: bridge backward (M3'), keys backward, encoder.backward(dh_s, dstate), dE_src  (M2', M1')

Target padding needs no mask inside the decoder: a padded step has no loss (m_t = 0) and feeds only
later padded steps, so no error ever reaches it. The shapes: B batch, S source and T target steps,
H hidden units (encoder per direction and decoder), M = D H the memory size, V the target symbols.
"""
from __future__ import annotations

from math import prod
from typing import Any, NamedTuple

import numpy as np

from .. import _validate as V
from ..cells.lstm import LSTMCell
from ..network import LSTM, Module
from ..params import ParamSet
from .attention import CHOICES as ATTENTION_CHOICES
from .attention import make_attention
from .batch import Batch, pad_ids
from .embedding import EMBEDDINGS, make_embedding
from .vocabulary import BOS, PAD, Vocabulary


class Encoded(NamedTuple):
    """The encoder's result for a batch: what every decoder step reads."""

    mem: np.ndarray        # (S, B, M) h_s, zero at padding
    K: np.ndarray | None   # (S, B, k) attention keys (None without attention)
    mask_bs: np.ndarray    # (B, S) True at real source positions
    e_h: list              # per layer (B, D H): the encoder's final h, directions side by side
    e_c: list              # per layer (B, D H): the same for c

    def select(self, idx: np.ndarray) -> "Encoded":
        """The batch columns ``idx`` (beam search tiles one source over its hypotheses)."""
        return Encoded(self.mem[:, idx], None if self.K is None else self.K[:, idx], self.mask_bs[idx],
                       [e[idx] for e in self.e_h], [e[idx] for e in self.e_c])


class DecoderState(NamedTuple):
    """The decoder's state after a step: per layer h, c (B, H); h~ (B, H) when input feeding, else None."""

    h: tuple
    c: tuple
    htilde: np.ndarray | None

    def select(self, idx: np.ndarray) -> "DecoderState":
        return DecoderState(tuple(a[idx] for a in self.h), tuple(a[idx] for a in self.c),
                            None if self.htilde is None else self.htilde[idx])


class _StepCache(NamedTuple):
    tokens: np.ndarray           # (B,) y_{t-1}
    cells: list                  # per layer: the cell's cache of its T = 1 forward
    att: Any                     # the attention step's cache (None without attention)
    hc: np.ndarray | None        # (B, M + H) [ctx_t; h_t^L] (with attention)
    out: np.ndarray              # (B, H) h~_t, what the output layer reads


DEFAULTS = {
    "hidden_size": 64,          # units per layer, encoder (per direction) and decoder
    "num_layers": 1,            # stacked layers in the encoder and in the decoder
    "embedding": "learned",     # "learned" (a trained table) or "onehot" (fixed unit vectors)
    "embed_size": 32,           # d of the learned embeddings (one-hot: d = the vocabulary size)
    "bidirectional": False,     # encoder reads both ways; its memory is then 2 H wide
    "attention": "none",        # none, dot, general (Luong 2015), bahdanau (Bahdanau 2015)
    "attention_size": None,     # A of Bahdanau's tanh layer (None: hidden_size)
    "input_feeding": False,     # Luong's input feeding: h~_{t-1} joins the decoder input
    "bridge": None,             # None: a bridge only when D H != H; True/False to force
}


def check_options(options: dict, flags: bool = False) -> dict:
    """The options with their defaults, each checked (``flags=True`` names them as the CLI's --flags)."""
    def name(key: str) -> str:
        return "--" + key.replace("_", "-") if flags else key

    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"Seq2Seq: unknown option(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
    o = {**DEFAULTS, **options}
    for key in ("hidden_size", "embed_size"):
        V.positive_int(name(key), o[key], maximum=V.MAX_SIZE)
    V.positive_int(name("num_layers"), o["num_layers"], maximum=V.MAX_LAYERS)
    if o["attention_size"] is not None:
        V.positive_int(name("attention_size"), o["attention_size"], maximum=V.MAX_SIZE)
    if o["embedding"] not in EMBEDDINGS:
        raise ValueError(f"{name('embedding')}: expected one of {', '.join(EMBEDDINGS)}, got {o['embedding']!r}")
    if o["attention"] not in ATTENTION_CHOICES:
        raise ValueError(f"{name('attention')}: expected one of {', '.join(ATTENTION_CHOICES)}, got {o['attention']!r}")
    for key in ("bidirectional", "input_feeding"):
        if not isinstance(o[key], bool):
            raise TypeError(f"{name(key)}: expected true or false, got {o[key]!r}")
    if o["bridge"] is not None and not isinstance(o["bridge"], bool):
        raise TypeError(f"{name('bridge')}: expected true, false or None (automatic), got {o['bridge']!r}")
    if o["input_feeding"] and o["attention"] == "none":
        raise ValueError(f"{name('input_feeding')}: feeds the attentional state h~(t-1) to the decoder, which needs "
                         f"attention; got attention 'none'; set {name('attention')} or drop input feeding")
    M = (2 if o["bidirectional"] else 1) * o["hidden_size"]
    if o["bridge"] is False and M != o["hidden_size"]:
        raise ValueError(f"{name('bridge')}: a bidirectional encoder's final state is {M} wide, the decoder's "
                         f"{o['hidden_size']}; without a bridge they cannot connect; leave the bridge automatic")
    if o["attention"] == "dot" and M != o["hidden_size"]:
        raise ValueError(f"{name('attention')} dot: expected the decoder's hidden size ({o['hidden_size']}) to equal "
                         f"the encoder's output size ({M}, twice the hidden size when bidirectional); use "
                         f"attention general or bahdanau, which project between the two")
    return o


class Seq2Seq(Module):
    """Encoder-decoder LSTM over two vocabularies; all weights in one flat buffer (``flat``).

    >>> v = Vocabulary.build(["abc"])
    >>> m = Seq2Seq(v, v, hidden_size=8, embed_size=4, attention="general", seed=0)
    >>> from lstmkit.seq2seq.batch import make_batch
    >>> b = make_batch([v.ids("abc")], [v.ids("cba")])
    >>> loss = m.loss(b); m.backward(); bool(np.any(m.grad_flat))
    True
    """

    def __init__(self, source_vocab: Vocabulary, target_vocab: Vocabulary, dtype="float64", seed=0,
                 cell_options: dict | None = None, **options):
        o = self.options = check_options(options)
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        dt = V.dtype("dtype", dtype)
        H = self.hidden_size = o["hidden_size"]
        L = self.num_layers = o["num_layers"]
        d = o["embed_size"]
        self.cell_options = dict(cell_options or {})
        M = self.memory_size = (2 if o["bidirectional"] else 1) * H
        self.bridged = (M != H) if o["bridge"] is None else o["bridge"]
        A = H if o["attention_size"] is None else o["attention_size"]
        rng = np.random.default_rng(seed)

        self.src_emb = make_embedding(o["embedding"], source_vocab.size, d)
        self.tgt_emb = make_embedding(o["embedding"], target_vocab.size, d)
        self.encoder = LSTM(self.src_emb.dim, H, num_layers=L, bidirectional=o["bidirectional"], cell="lstm",
                            dtype=dt, seed=rng, **self.cell_options)
        if self.encoder.state_names != ("h", "c"):
            raise ValueError(f"--cell-option: the decoder starts from the encoder's h and c; these options give "
                             f"the cell the state {self.encoder.state_names} (full gate recurrence); drop it for "
                             f"seq2seq")
        toolbox = [k for k in ("proj_size", "input_dropout", "recurrent_dropout", "zoneout_cell", "zoneout_hidden",
                               "weight_drop") if self.encoder.cells[0].options.get(k)]
        if toolbox:   # layer_norm is fine: it has no noise and keeps h of size H
            raise ValueError(f"--cell-option: seq2seq does not take {', '.join(toolbox)}: its decoder runs one "
                             f"step at a time (a new dropout mask per step, not per sequence) and reads h of size "
                             f"H; drop them (layer_norm is supported)")
        self.attention = make_attention(o["attention"], H, M, A)
        self.query = None if self.attention is None else self.attention.query
        I0 = self.tgt_emb.dim + (M if self.query == "previous" else 0) + (H if o["input_feeding"] else 0)
        self.dec_cells = [LSTMCell(I0 if l == 0 else H, H, dtype=dt, **self.cell_options) for l in range(L)]
        V_out = target_vocab.size
        shapes = {
            "bridge": {"W_h": (H, M), "b_h": (H,), "W_c": (H, M), "b_c": (H,)} if self.bridged else {},
            "combine": {"W": (H, M + H)} if self.attention is not None else {},
            "out": {"W": (V_out, H), "b": (V_out,)},
        }
        n = (self.encoder.num_weights + sum(prod(s) for c in self.dec_cells for s in c.param_shapes().values())
             + sum(prod(s) for part in shapes.values() for s in part.values())
             + V_out * H + (target_vocab.size + source_vocab.size) * d)
        V.memory("Seq2Seq", 4 * n * dt.itemsize, f"this model has about {n:,} weights; use fewer or smaller "
                                                  f"layers (hidden_size, num_layers, embed_size)")
        self._parts = {
            "src_emb": ParamSet(self.src_emb.param_shapes(), dt),
            "enc": self.encoder._params,
            "bridge": ParamSet(shapes["bridge"], dt),
            **{f"dec.l{l}": ParamSet(c.param_shapes(), dt) for l, c in enumerate(self.dec_cells)},
            "att": ParamSet(self.attention.param_shapes() if self.attention else {}, dt),
            "combine": ParamSet(shapes["combine"], dt),
            "out": ParamSet(shapes["out"], dt),
            "tgt_emb": ParamSet(self.tgt_emb.param_shapes(), dt),
        }
        self._params = ParamSet.concat([(k + ".", ps) for k, ps in self._parts.items()], dtype=dt)
        P = self._parts
        self.src_emb.init(P["src_emb"].params, rng)
        self.tgt_emb.init(P["tgt_emb"].params, rng)
        for l, c in enumerate(self.dec_cells):
            c.init_params(P[f"dec.l{l}"].params, rng)
        if self.attention is not None:
            self.attention.init(P["att"].params, rng)
        for part in ("bridge", "combine", "out"):                 # uniform 1/sqrt(fan-in), biases 0
            for name, a in P[part].params.items():
                a[...] = rng.uniform(-1, 1, size=a.shape) / np.sqrt(a.shape[-1]) if a.ndim == 2 else 0.0
        self._seed = seed if isinstance(seed, int) else None
        self._last = None

    # ------------------------------------------------------------------ description
    def config(self) -> dict[str, Any]:
        return {"type": "Seq2Seq", **self.options, "cell_options": dict(self.cell_options),
                "dtype": self.dtype.name, "seed": self._seed,
                "source_vocab": self.source_vocab.to_list(), "target_vocab": self.target_vocab.to_list()}

    def __repr__(self) -> str:
        o = self.options
        return (f"Seq2Seq({self.source_vocab.size} -> {self.target_vocab.size} symbols, {self.num_layers}x"
                f"{self.hidden_size}, attention={o['attention']!r}, bidirectional={o['bidirectional']}, "
                f"input_feeding={o['input_feeding']}, bridge={self.bridged}, {self.num_weights} weights)")

    def save(self, path) -> None:
        from .saving import save

        save(self, path)

    # ------------------------------------------------------------------ encoder
    def encode(self, src: np.ndarray, src_len: np.ndarray) -> Encoded:
        """src (S, B) ids, src_len (B,) -> the memory, the keys and the final states (M1, M2)."""
        P, dt = self._parts, self.dtype
        x = self.src_emb.forward(P["src_emb"].params, src, dt)                        # (M1) (S, B, d)
        mem, (hT, cT) = self.encoder.forward(x, lengths=src_len)                     # (M2) (S, B, M), (L D, B, H)
        D = self.encoder.num_directions
        e_h = [np.concatenate([hT[l * D + k] for k in range(D)], axis=1) for l in range(self.num_layers)]
        e_c = [np.concatenate([cT[l * D + k] for k in range(D)], axis=1) for l in range(self.num_layers)]
        K = None if self.attention is None else self.attention.keys(P["att"].params, mem)
        mask_bs = (np.arange(src.shape[0])[:, None] < src_len[None, :]).T            # (B, S)
        return Encoded(mem, K, mask_bs, e_h, e_c)

    def encode_ids(self, sources: list[np.ndarray]) -> Encoded:
        """Encode a list of id sequences (padded here)."""
        src, src_len = pad_ids(sources, "source")
        return self.encode(src, src_len)

    def start(self, enc: Encoded) -> DecoderState:
        """The decoder's initial state: the encoder's final state, through the bridge if any (M3, M3')."""
        p = self._parts["bridge"].params
        if self.bridged:
            h = tuple(np.tanh(e @ p["W_h"].T + p["b_h"]) for e in enc.e_h)               # (M3') (B, H)
            c = tuple(e @ p["W_c"].T + p["b_c"] for e in enc.e_c)                        # (M3') (B, H)
        else:
            h, c = tuple(e.copy() for e in enc.e_h), tuple(e.copy() for e in enc.e_c)     # (M3)
        B = enc.mem.shape[1]
        hf = np.zeros((B, self.hidden_size), dtype=self.dtype) if self.options["input_feeding"] else None
        return DecoderState(h, c, hf)

    # ------------------------------------------------------------------ one decoder step
    def _step(self, tokens: np.ndarray, state: DecoderState, enc: Encoded):
        """Logits (B, V), the new state, the attention weights (B, S) or None, and the step's cache."""
        P, att = self._parts, self.attention
        parts = [self.tgt_emb.forward(P["tgt_emb"].params, tokens, self.dtype)]       # (B, d)
        acache, a = None, None
        if self.query == "previous":
            a, ctx, acache = att.forward(P["att"].params, enc.K, enc.mem, enc.mask_bs, state.h[-1])  # (M4)
            parts.append(ctx)
        if state.htilde is not None:
            parts.append(state.htilde)
        u = np.concatenate(parts, axis=1) if len(parts) > 1 else np.ascontiguousarray(parts[0])     # (M5) (B, I0)
        hs, cs, caches = [], [], []
        for l, cell in enumerate(self.dec_cells):
            y, (h, c), cache = cell.forward(P[f"dec.l{l}"].params, u[None], (state.h[l], state.c[l]))  # (M6)
            u = y[0]                                                                   # (B, H)
            hs.append(h)
            cs.append(c)
            caches.append(cache)
        hc = None
        if att is not None:
            if self.query == "current":
                a, ctx, acache = att.forward(P["att"].params, enc.K, enc.mem, enc.mask_bs, u)       # (M7)
            hc = np.concatenate([ctx, u], axis=1)                                      # (B, M + H)
            out = np.tanh(hc @ P["combine"].params["W"].T)                             # (M8) (B, H)
        else:
            out = u                                                                    # (M8) h~ = h^L
        po = P["out"].params
        logits = out @ po["W"].T + po["b"]                                             # (M9) (B, V)
        new = DecoderState(tuple(hs), tuple(cs), out if state.htilde is not None else None)
        return logits, new, a, _StepCache(tokens, caches, acache, hc, out)

    def step(self, tokens: np.ndarray, state: DecoderState, enc: Encoded):
        """For decoding: log p (B, V) in float64, the new state, attention weights (B, S) or None.

        <pad> and <bos> are never targets, so decoding never produces them: their log p is -inf and the
        softmax is over the other symbols.
        """
        logits, new, a, _ = self._step(tokens, state, enc)
        z = logits.astype(np.float64)
        z[:, [PAD, BOS]] = -np.inf
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), new, a

    def _step_backward(self, cache: _StepCache, dlogits, dh, dc, dhf, enc: Encoded, acc):
        """The step's backward: errors at the state it produced in, at the state it read out (M9'-M4')."""
        P, G, att, M = self._parts, {k: ps.grads for k, ps in self._parts.items()}, self.attention, self.memory_size
        po = P["out"].params
        G["out"]["W"] += dlogits.T @ cache.out                                         # (M9')
        G["out"]["b"] += dlogits.sum(axis=0)
        dout = dlogits @ po["W"]                                                       # (M9') (B, H)
        if dhf is not None:
            dout = dout + dhf                                                          # (M5') from u_{t+1}
        if att is not None:
            dpre = dout * (1.0 - cache.out * cache.out)                                # (M8') (B, H)
            G["combine"]["W"] += dpre.T @ cache.hc
            dhc = dpre @ P["combine"].params["W"]                                      # (B, M + H)
            dctx, dy = dhc[:, :M], dhc[:, M:]                                           # (B, M), (B, H)
            if self.query == "current":
                dq, dK, dmem = att.backward(P["att"].params, enc.K, enc.mem, cache.att, dctx, G["att"])  # (M7')
                dy = dy + dq
                acc["K"] += dK
                acc["mem"] += dmem
        else:
            dy = dout
        new_dh, new_dc = [None] * self.num_layers, [None] * self.num_layers
        for l in range(self.num_layers - 1, -1, -1):                                   # (M6') top to bottom
            du, (dh0, dc0) = self.dec_cells[l].backward(P[f"dec.l{l}"].params, cache.cells[l],
                                                        np.ascontiguousarray(dy)[None], (dh[l], dc[l]),
                                                        G[f"dec.l{l}"])
            new_dh[l], new_dc[l] = dh0, dc0
            dy = du[0]
        d = self.tgt_emb.dim
        self.tgt_emb.backward(P["tgt_emb"].params, cache.tokens, dy[:, :d], G["tgt_emb"])  # (M5')
        at = d
        if self.query == "previous":                                                   # ctx_t fed u_t and h~_t
            dctx = dctx + dy[:, at:at + M]
            dq, dK, dmem = att.backward(P["att"].params, enc.K, enc.mem, cache.att, dctx, G["att"])  # (M4')
            new_dh[-1] = new_dh[-1] + dq                                              # the query was h_{t-1}^L
            acc["K"] += dK
            acc["mem"] += dmem
            at += M
        new_dhf = np.ascontiguousarray(dy[:, at:]) if dhf is not None else None
        return new_dh, new_dc, new_dhf

    # ------------------------------------------------------------------ training: loss and gradient
    def loss(self, batch: Batch, reduction: str = "mean") -> float:
        """Teacher-forced cross-entropy of ``batch`` (M10); keeps what :meth:`backward` needs.

        ``reduction="mean"``: per real target step (the training loss); ``"sum"``: summed.
        Also sets ``last_stats``: the summed loss, real target steps and correct argmax predictions.
        """
        if reduction not in ("mean", "sum"):
            raise ValueError(f"loss: reduction must be 'mean' or 'sum', got {reduction!r}")
        enc = self.encode(batch.src, batch.src_len)
        state = start = self.start(enc)
        m = batch.tgt_mask                                                             # (T, B)
        N = float(m.sum())
        scale = 1.0 / N if reduction == "mean" else 1.0
        caches, dlogits, total, correct = [], [], 0.0, 0
        for t in range(batch.tgt_in.shape[0]):
            logits, state, _, cache = self._step(batch.tgt_in[t], state, enc)
            z = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)                                       # (M9) (B, V)
            y = batch.tgt_out[t]
            nll = np.log(e.sum(axis=1)) - z[np.arange(y.size), y]                      # (M10) -log p[y]
            total += float(np.sum(nll.astype(np.float64) * m[t]))
            correct += int(np.sum((logits.argmax(axis=1) == y) & m[t]))
            g = p.copy()
            g[np.arange(y.size), y] -= 1.0                                             # (M10') p - onehot
            dlogits.append(g * (m[t][:, None] * scale).astype(g.dtype))
            caches.append(cache)
        self._last = (batch, enc, start, caches, dlogits)
        self.last_stats = {"loss_sum": total, "tokens": int(N), "correct": correct}
        return total * scale

    def backward(self) -> None:
        """Fill ``grads`` with the gradient of the last :meth:`loss` (zeroed first)."""
        if self._last is None:
            raise RuntimeError("backward: call loss(batch) first (backward differentiates the last loss)")
        batch, enc, start, caches, dlogits = self._last
        self.zero_grad()
        B, H, L = batch.size, self.hidden_size, self.num_layers
        dt = self.dtype
        dh = [np.zeros((B, H), dtype=dt) for _ in range(L)]
        dc = [np.zeros((B, H), dtype=dt) for _ in range(L)]
        dhf = np.zeros((B, H), dtype=dt) if self.options["input_feeding"] else None
        acc = {"K": np.zeros_like(enc.K) if enc.K is not None else None, "mem": np.zeros_like(enc.mem)}
        for t in range(len(caches) - 1, -1, -1):
            dh, dc, dhf = self._step_backward(caches[t], dlogits[t], dh, dc, dhf, enc, acc)
        # (M3') the bridge, back to the encoder's final state
        P, G = self._parts["bridge"].params, self._parts["bridge"].grads
        de_h, de_c = [], []
        for l in range(L):
            if self.bridged:
                h0 = start.h[l]                                                        # tanh(W_h e_h + b_h)
                dpre = dh[l] * (1.0 - h0 * h0)
                G["W_h"] += dpre.T @ enc.e_h[l]
                G["b_h"] += dpre.sum(axis=0)
                G["W_c"] += dc[l].T @ enc.e_c[l]
                G["b_c"] += dc[l].sum(axis=0)
                de_h.append(dpre @ P["W_h"])
                de_c.append(dc[l] @ P["W_c"])
            else:
                de_h.append(dh[l])
                de_c.append(dc[l])
        dmem = acc["mem"]
        if self.attention is not None:                                                 # keys: K = h_s or W h_s
            dmem = dmem + self.attention.keys_backward(self._parts["att"].params, enc.mem, acc["K"],
                                                       self._parts["att"].grads)
        D = self.encoder.num_directions
        dhT = np.stack([de_h[l][:, k * H:(k + 1) * H] for l in range(L) for k in range(D)])  # (L D, B, H)
        dcT = np.stack([de_c[l][:, k * H:(k + 1) * H] for l in range(L) for k in range(D)])
        dx, _ = self.encoder.backward(np.ascontiguousarray(dmem, dtype=dt), (dhT, dcT), accumulate=True)  # (M2')
        self.src_emb.backward(self._parts["src_emb"].params, batch.src, dx, self._parts["src_emb"].grads)  # (M1')
