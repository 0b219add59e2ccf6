"""``lstmkit predict RUN_DIR --input FILE``: a trained run's answers on new data, as CSV.

  forecast  the next ``horizon`` values of the target after the series in FILE (data units), one row
            per lead (origin = the last row read, row = the row forecast); with
            ``--backtest`` also the forecast from every origin beside the actual values, and RMSE/MAE
            against persistence on the same origins; ``--plot PNG`` draws forecast vs actual.
  classify  one row per sequence: id, predicted label, a probability per class; accuracy when FILE
            has labels.
  text      the probability of every character coming next after the text of FILE (most likely first),
            and the model's bits per character on FILE.
  seq2seq   one row per line of FILE (a source, or source<TAB>target): the decoded answer (greedy, or
            beam search with ``--beam K``) and its log-probability; with targets also whether it is
            exactly right, and the accuracy; ``--plot PNG`` draws the attention of the first line.

The CSV goes to ``--out`` (written atomically, a regular file or a new path only) or to stdout.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from . import UsageError, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory of lstmkit train")
    p.add_argument("--input", required=True, metavar="FILE",
                   help="new data in the run's format (forecast: CSV series, classify: .npz or long CSV, text: text)")
    p.add_argument("--out", metavar="FILE.csv", help="write the CSV here (default: stdout)")
    p.add_argument("--backtest", action="store_true",
                   help="forecast: also forecast from every origin of FILE, beside the actual values")
    p.add_argument("--plot", metavar="FILE.png", help="forecast: a forecast-vs-actual figure (implies --backtest); "
                                                      "seq2seq: the attention weights of the first line")
    p.add_argument("--top", type=int, default=5, help="text: characters shown on the screen (default 5)")
    p.add_argument("--beam", type=int, default=1, metavar="K", help="seq2seq: beam width (default 1: greedy)")
    p.add_argument("--length-penalty", dest="length_penalty", type=float, default=0.0, metavar="ALPHA",
                   help="seq2seq beam search: rank by log p / length^ALPHA (default 0: log p)")
    p.add_argument("--max-len", dest="max_len", type=int, default=None, metavar="N",
                   help="seq2seq: at most N output symbols, <eos> included (default 2 x source length + 10)")


def _csv(header: list[str], rows) -> str:
    """CSV text (the csv module quotes what needs it: a ',' or a newline as a predicted character)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([f"{float(v):.10g}" if isinstance(v, (float, np.floating)) else v for v in r] for r in rows)
    return buf.getvalue()


def _forecast(pred, args, report) -> str:
    from ..data.series import errors

    s = pred.read(args.input)
    target, H, N = pred.columns[0], pred.horizon, s.values.shape[0]
    ahead = pred.forecast(s.values)
    rows = [[N - 1, N - 1 + h, "", h, ahead[h - 1], ""] for h in range(1, H + 1)]
    report(f"forecast of {target!r} after row {N - 1} of {args.input}"
           f"{f' ({s.dates[-1]})' if s.dates else ''}: " + ", ".join(f"{v:.6g}" for v in ahead))
    if args.backtest or args.plot:
        b = pred.backtest(s.values)
        err, base = errors(b["forecast"], b["actual"]), errors(b["persistence"], b["actual"])
        report(f"backtest on {len(b['origins'])} origins of {args.input}: RMSE {err['rmse']:.6g} "
               f"(persistence {base['rmse']:.6g}), MAE {err['mae']:.6g} (persistence {base['mae']:.6g})")
        back = [[o, o + h, s.dates[o + h] if s.dates else "", h, b["forecast"][i, h - 1], b["actual"][i, h - 1]]
                for i, o in enumerate(b["origins"]) for h in range(1, H + 1)]
        rows = back + rows
        if args.plot:
            _forecast_figure(s, b, ahead, target, args.plot, Path(args.input).name)
            report(f"figure: {args.plot}")
    return _csv(["origin", "row", "date", "lead", "forecast", "actual"], rows)


def _forecast_figure(s, b, ahead, target, path, name) -> None:
    from ..plots import pyplot, save_png

    plt = pyplot()
    y, N, H = s.values[:, 0], s.values.shape[0], len(ahead)
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(np.arange(N), y, color="0.3", lw=1, label=f"actual {target}")
    o = b["origins"]
    ax.plot(o + 1, b["forecast"][:, 0], lw=1, label="forecast, 1 step ahead (from each origin)")
    if H > 1:
        ax.plot(o + H, b["forecast"][:, H - 1], lw=1, alpha=0.8, label=f"forecast, {H} steps ahead")
    ax.plot(np.arange(N, N + H), ahead, "o-", ms=3, color="C3", label=f"forecast after the data ({H} steps)")
    ax.axvline(N - 0.5, color="0.6", ls=":", lw=1)
    ax.set_xlabel("row of the input (date order)")
    ax.set_ylabel(target)
    ax.set_title(f"forecast vs actual on {name}")
    ax.legend(loc="best", fontsize=8)
    save_png(fig, path)
    plt.close(fig)


def _classify(pred, args, report) -> str:
    seqs = pred.read(args.input)
    p = pred.proba(seqs.x)
    labels = [pred.classes[k] for k in p.argmax(axis=1)]
    if seqs.labels is not None:
        acc = float(np.mean([a == b for a, b in zip(labels, seqs.labels)]))
        report(f"accuracy on {len(labels)} labelled sequences of {args.input}: {acc:.4f}")
    else:
        report(f"{len(labels)} sequences of {args.input} classified")
    return _csv(["id", "label", *(f"p({c})" for c in pred.classes)],
                ([i, lab, *row] for i, lab, row in zip(seqs.ids, labels, p)))


def _text(pred, args, report) -> str:
    text = pred.read(args.input)
    p = pred.next_proba(text)
    order = np.argsort(-p, kind="stable")
    shown = ", ".join(f"{pred.vocab[k]!r} {p[k]:.3f}" for k in order[: args.top])
    bpc = pred.bits_per_char(text)
    report(f"next character after {args.input}: {shown}"
           + (f"; the model's bits per character on it: {bpc:.4f}" if bpc is not None else ""))
    return _csv(["character", "codepoint", "probability"], ([pred.vocab[k], ord(pred.vocab[k]), p[k]] for k in order))


def _seq2seq(pred, args, report) -> str:
    from ..seq2seq.tasks import accuracy_by_length

    if args.beam < 1:
        raise UsageError(f"--beam: expected a width >= 1, got {args.beam}")
    if args.max_len is not None and args.max_len < 1:
        raise UsageError(f"--max-len: expected a number of symbols >= 1, got {args.max_len}")
    if not (np.isfinite(args.length_penalty) and args.length_penalty >= 0):
        raise UsageError(f"--length-penalty: expected a number >= 0, got {args.length_penalty}")
    if args.plot and pred.model.attention is None:
        raise UsageError("--plot: this model has no attention to draw (it was trained with --attention none)")
    pairs = pred.read(args.input)
    hyps = pred.decode(pairs.sources, args.beam, args.max_len, args.length_penalty,
                       where=[f"--input: {args.input} line {n}" for n in pairs.lines])
    answers = [pred.text(h) for h in hyps]
    how = "greedy decoding" if args.beam == 1 else f"beam search, width {args.beam}"
    join = pred.join
    header = ["line", "source", "prediction", "log_prob"]
    rows = [[n, join(s), a, h.score] for n, s, a, h in zip(pairs.lines, pairs.sources, answers, hyps)]
    if pairs.targets is not None:
        outs = [pred.model.target_vocab.symbols(h.tokens) for h in hyps]
        exact = [list(t) == o for t, o in zip(pairs.targets, outs)]
        table = accuracy_by_length(list(zip(pairs.sources, pairs.targets)), outs)
        token = sum(r["token"] * r["n"] for r in table.values()) / len(outs)
        report(f"{len(outs)} lines of {args.input} ({how}): exact match {np.mean(exact):.4f}, token accuracy "
               f"{token:.4f}")
        header += ["target", "correct"]
        rows = [r + [join(t), int(e)] for r, t, e in zip(rows, pairs.targets, exact)]
    else:
        report(f"{len(answers)} lines of {args.input} decoded ({how})")
    if args.plot:
        from ..seq2seq.attention_plot import attention_figure

        h = hyps[0]
        attention_figure(h.attention_matrix(), pairs.sources[0], pred.model.target_vocab.symbols(h.tokens), args.plot,
                         title=f"{join(pairs.sources[0])!r} -> {answers[0]!r}", ended=h.ended)
        report(f"figure: {args.plot}")
    return _csv(header, rows)


ANSWERS = {"forecast": _forecast, "classify": _classify, "text": _text, "seq2seq": _seq2seq}


@command("predict", "a trained run's forecasts, class labels, next-character probabilities or decoded sequences "
                    "on new data", _args)
def predict(args) -> int:
    from .._atomic import atomic_write_bytes, check_file_target
    from ..runs import Run
    from ..training.predictors import from_run

    if args.top < 1:
        raise UsageError(f"--top: expected a number of characters >= 1, got {args.top}")
    run = Run.open(args.run_dir)
    if (args.backtest and run.task != "forecast") or (args.plot and run.task not in ("forecast", "seq2seq")):
        raise UsageError(f"--backtest/--plot: apply to forecast runs (--plot also to seq2seq runs); {run.path} is a "
                         f"{run.task} run")
    for flag, f in (("--out", args.out), ("--plot", args.plot)):
        if f:
            check_file_target(f, flag)                                     # before the work
    pred = from_run(run)
    # with --out the CSV goes to the file and the report to stdout; without, the CSV is stdout's alone
    report = print if args.out else (lambda line: print(line, file=sys.stderr))
    text = ANSWERS[run.task](pred, args, report)
    if args.out:
        atomic_write_bytes(args.out, text.encode("utf-8"), what="--out")
        print(f"predictions: {args.out}")
    else:
        sys.stdout.write(text)
    return 0
