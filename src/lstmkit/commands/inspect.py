"""``lstmkit inspect RUN_DIR --input FILE``: gate activations and cell states over time for one sequence.

The trained network reads one sequence (forecast: a CSV series with the training columns, read whole;
text: a text file; classify: one sequence of a .npz or long CSV file, ``--index``) and
``net.internals()`` gives every gate and state per step. Written: PREFIX.png (heat maps, units x time),
PREFIX.npz (every array, plus ``input`` and ``output``) and PREFIX.csv (one row per step, one column per
unit of every gate and state).
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from . import UsageError, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of lstmkit train")
    p.add_argument("--input", required=True, metavar="FILE", help="the sequence to read (format of the run's task)")
    p.add_argument("--index", type=int, default=0, help="classify: which sequence of the file (default 0)")
    p.add_argument("--max-steps", type=int, default=2000, help="read at most this many steps (default 2000)")
    p.add_argument("--out", metavar="PREFIX", help="output prefix (default RUN_DIR/inspect/<input name>)")


def _sequence(pred, task: str, args):
    """The input sequence (T, I) in the model's units, and the raw input for the figure.

    The run's predictor reads FILE (``lstmkit.training.predictors``), as ``lstmkit predict`` does.
    """
    if task == "forecast":
        raw = pred.read(args.input).values
        return pred.scaler.transform(raw), raw
    if task == "text":
        from ..data.text import encode, one_hot

        ids = encode(pred.read(args.input)[: args.max_steps], pred.vocab, "--input")
        return one_hot(ids[:, None], len(pred.vocab), np.float64)[:, 0], ids[:, None].astype(np.float64)
    seqs = pred.read(args.input)
    if not 0 <= args.index < len(seqs):
        raise UsageError(f"--index: {args.input} has {len(seqs)} sequences (0..{len(seqs) - 1}), got {args.index}")
    raw = seqs.x[args.index]
    return pred.scaler.transform(raw), raw


@command("inspect", "gate activations and cell states of a trained model over one sequence (PNG, npz, csv)", _args)
def inspect(args) -> int:
    from ..plots import internals_figure
    from .._atomic import atomic_write_bytes, check_file_target
    from ..runs import Run
    from ..training.predictors import from_run

    if args.max_steps < 1:
        raise UsageError(f"--max-steps: expected >= 1, got {args.max_steps}")
    run = Run.open(args.run_dir)
    task = run.task
    if task == "seq2seq":
        raise UsageError(f"inspect: {run.path} is a seq2seq run, whose decoder steps depend on its own outputs; "
                         f"see its attention with lstmkit predict {run.path} --input FILE --plot attention.png")
    prefix = Path(args.out) if args.out else run.path / "inspect" / Path(args.input).stem
    for ext in (".png", ".npz", ".csv"):
        check_file_target(f"{prefix}{ext}", "--out")
    pred = from_run(run)
    net = pred.net
    x, raw = _sequence(pred, task, args)
    x, raw = x[: args.max_steps], raw[: args.max_steps]
    out, _ = net.forward(np.ascontiguousarray(x, dtype=net.dtype))          # unbatched: (T, I) -> (T, O)
    internals = {k: np.asarray(v, dtype=np.float64) for k, v in net.internals().items()}
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"--out: cannot create {prefix.parent}: {e.strerror or e}") from None
    buf = io.BytesIO()
    np.savez(buf, input=raw, output=np.asarray(out, dtype=np.float64), **internals)
    cols = ["step"] + [f"{k}[{j}]" for k, a in internals.items() for j in range(a.shape[1])]
    table = np.column_stack([np.arange(x.shape[0])] + [a for a in internals.values()])
    text = ",".join(cols) + "\n" + "\n".join(
        ",".join([str(int(r[0]))] + [f"{v:.6g}" for v in r[1:]]) for r in table) + "\n"
    internals_figure(internals, f"{prefix}.png", raw if task != "text" else None,
                     title=f"{task} model on {Path(args.input).name}: gates and cell states over {x.shape[0]} steps")
    atomic_write_bytes(f"{prefix}.npz", buf.getvalue(), what="--out")
    atomic_write_bytes(f"{prefix}.csv", text.encode(), what="--out")
    print(f"{prefix}.png\n{prefix}.npz\n{prefix}.csv")
    return 0
