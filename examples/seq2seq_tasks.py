"""Reverse, sort and add symbol strings with an encoder-decoder LSTM, with and without attention.

    python examples/seq2seq_tasks.py               # about 8 minutes on 2 cores; writes docs/seq2seq.md's table
    python examples/seq2seq_tasks.py --quick       # a smoke run (small data, a few epochs), writes nothing

For each task (``lstmkit.seq2seq.tasks``) two models train on the same seeded pairs with source lengths
in TRAIN_LENGTHS: one without attention (the decoder sees the source only through the encoder's final
state, Sutskever et al. 2014) and one with Luong's general attention and input feeding. Both are
scored on fresh pairs of every source length in TEST_LENGTHS, longer ones included, by greedy
decoding: exact match (the whole answer right) and per-token accuracy. The table goes between the
markers in docs/seq2seq.md, with the command and the wall time; the attention weights of the reverse
model on a source longer than any it trained on go to docs/seq2seq-attention.png.

Training is ``lstmkit.training.trainer.fit`` (Adam, gradient clipping, early stopping on the held-out
token loss) on ``lstmkit.training.seq2seq.Seq2SeqTask``, what ``lstmkit train seq2seq`` runs.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # tiny matrices: threads only cost
    os.environ.setdefault(_var, "1")

import argparse                                                                  # noqa: E402
import sys                                                                       # noqa: E402
import time                                                                      # noqa: E402
from pathlib import Path                                                         # noqa: E402

import numpy as np                                                               # noqa: E402

from lstmkit._atomic import write_section                                        # noqa: E402
from lstmkit.seq2seq import tasks as T                                           # noqa: E402
from lstmkit.seq2seq.attention_plot import attention_figure                      # noqa: E402
from lstmkit.seq2seq.data import Pairs                                           # noqa: E402
from lstmkit.seq2seq.decoding import translate                                   # noqa: E402
from lstmkit.training import config as C                                         # noqa: E402
from lstmkit.training.common import build_optimizer                              # noqa: E402
from lstmkit.training.seq2seq import Seq2SeqTask                                 # noqa: E402
from lstmkit.training.trainer import fit                                         # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
TRAIN_LENGTHS = {"reverse": (3, 8), "sort": (3, 8), "addition": (3, 7)}
TEST_LENGTHS = {"reverse": range(3, 13), "sort": range(3, 13), "addition": range(3, 12)}
EPOCHS = {"reverse": 15, "sort": 15, "addition": 60}       # at most; early stopping usually ends sooner
PAIRS = {"addition": 4}          # x --pairs: carrying digits takes more data than moving symbols
PATIENCE = {"addition": 5}
MODELS = {"no attention": {}, "attention": {"attention": "general", "input_feeding": True}}
SETTINGS = {"hidden_size": 64, "embed_size": 16, "lr": 0.005, "batch_size": 32, "patience": 3,
            "dtype": "float32", "val_fraction": 0.1}


def train(task: str, options: dict, n_pairs: int, epochs: int, seed: int):
    rng = np.random.default_rng([seed, 10])
    pairs = T.dataset(task, n_pairs, TRAIN_LENGTHS[task], rng)
    data = Pairs([list(s) for s, _ in pairs], [list(t) for _, t in pairs], list(range(1, n_pairs + 1)))
    cfg = C.resolve("seq2seq", flags={**SETTINGS, "patience": PATIENCE.get(task, SETTINGS["patience"]),
                                      "epochs": epochs, "seed": seed, **options}, in_memory=True)
    t = Seq2SeqTask(data, cfg)
    model = t.build_model()
    result = fit(t, model, build_optimizer(cfg), cfg, np.random.default_rng([cfg.seed, 1]), progress=False)
    return t, model, result


def score(t: Seq2SeqTask, model, task: str, per_length: int, seed: int) -> dict[int, dict]:
    test = T.by_length(task, per_length, TEST_LENGTHS[task], np.random.default_rng([seed, 20]))
    pairs = [p for n in test for p in test[n]]
    hyps = translate(model, [t.source_vocab.ids(list(s)) for s, _ in pairs])
    outs = ["".join(t.target_vocab.symbols(h.tokens)) for h in hyps]
    return T.accuracy_by_length(pairs, outs)


def table(results: dict, trained: dict) -> str:
    """Markdown: one row per source length, exact / token accuracy per task and model."""
    cols = [(task, name) for task in results for name in results[task]]
    head = "| source length | " + " | ".join(f"{task}, {name}" for task, name in cols) + " |"
    lines = [head, "|---:|" + "---:|" * len(cols)]
    lengths = sorted({n for task in results for name in results[task] for n in results[task][name]})
    for n in lengths:
        cells = []
        for task, name in cols:
            r = results[task][name].get(n)
            seen = TRAIN_LENGTHS[task][0] <= n <= TRAIN_LENGTHS[task][1]
            cells.append("" if r is None else (f"{r['exact']:.2f} / {r['token']:.2f}" if seen
                                               else f"*{r['exact']:.2f} / {r['token']:.2f}*"))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Cells: exact match / per-token accuracy, greedy decoding; *italic*: source lengths longer than any "
                 "the model trained on. " + "; ".join(
                     f"{task}: trained on lengths {TRAIN_LENGTHS[task][0]}-{TRAIN_LENGTHS[task][1]}" for task in results)
                 + ".")
    lines.append("")
    lines.append("| task | model | weights | epochs (best) | held-out token loss | seconds |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for (task, name), (w, ep, best, loss, secs) in trained.items():
        lines.append(f"| {task} | {name} | {w} | {ep} ({best}) | {loss:.4f} | {secs:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="reverse,sort,addition", help="comma-separated (default all three)")
    p.add_argument("--pairs", type=int, default=6000, help="training pairs per task (default 6000)")
    p.add_argument("--per-length", type=int, default=100, help="test pairs per source length (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 pairs, 2 epochs, 10 per length; no files")
    args = p.parse_args(argv)
    n_pairs, per_length = (300, 10) if args.quick else (args.pairs, args.per_length)
    t0 = time.perf_counter()
    results, trained, reverse_attention = {}, {}, None
    for task in args.tasks.split(","):
        results[task] = {}
        for name, options in MODELS.items():
            s = time.perf_counter()
            t, model, res = train(task, options, n_pairs * PAIRS.get(task, 1), 2 if args.quick else EPOCHS[task],
                                  args.seed)
            results[task][name] = score(t, model, task, per_length, args.seed)
            st = res.state
            trained[(task, name)] = (model.num_weights, st.epoch, st.best_epoch, st.best_loss, time.perf_counter() - s)
            print(f"{task:>8}, {name:<12}: {st.epoch} epochs (best {st.best_epoch}), held-out token loss "
                  f"{st.best_loss:.4f}, {time.perf_counter() - s:.0f} s; exact by length: "
                  + " ".join(f"{n}:{r['exact']:.2f}" for n, r in results[task][name].items()), flush=True)
            if task == "reverse" and options:
                reverse_attention = (t, model)
    wall = time.perf_counter() - t0
    text = table(results, trained)
    command = "python examples/seq2seq_tasks.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])
                                                     if (argv if argv is not None else sys.argv[1:]) else "")
    print()
    print(text)
    print(f"\nwall time {wall:.0f} s")
    if args.quick:
        return 0
    footer = (f"Made by `{command}` in {wall:.0f} s of wall time (2 cores shared with other work, "
              f"one thread per process, float32).")
    write_section(DOCS / "seq2seq.md", "seq2seq-table", text + "\n\n" + footer, append=False)
    if reverse_attention is not None:
        t, model = reverse_attention
        src = list("fcjabhidga")                                 # 10 symbols: longer than trained on
        h = translate(model, [t.source_vocab.ids(src)])[0]
        out = t.target_vocab.symbols(h.tokens)
        attention_figure(h.attention_matrix(), src, out, DOCS / "seq2seq-attention.png", ended=h.ended,
                         title=f"reverse, general attention: {''.join(src)!r} -> {''.join(out)!r} "
                               f"(trained on lengths 3-8)")
    print(f"wrote {DOCS / 'seq2seq.md'} and {DOCS / 'seq2seq-attention.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
