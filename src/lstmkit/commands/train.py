"""``lstmkit train forecast|text|classify|seq2seq``: train on one's own data into a run directory.

Options come from the task's config dataclass (``lstmkit.training.config``): a flag overrides the
``--config`` TOML file, which overrides the default. ``--resume RUN_DIR`` continues a run from its last
checkpoint with its saved config and ends exactly where the uninterrupted run would have.
"""
from __future__ import annotations

import argparse
import sys
import tomllib

from . import UsageError, command

S = argparse.SUPPRESS

TASK_HELP = {
    "forecast": "forecast a column of a CSV time series (RMSE/MAE vs persistence and seasonal naive)",
    "text": "character-level language model on a text file (bits per character vs unigram)",
    "classify": "classify labelled variable-length sequences from .npz or long CSV (accuracy vs majority class)",
    "seq2seq": "map source sequences to target sequences from a two-column file, source<TAB>target per line "
               "(encoder-decoder LSTM, optional attention; exact-match accuracy vs copying the source)",
}


def _float_or_none(s: str):
    if s.lower() in ("none", "off", "0"):
        return None
    return float(s)


def _int_or_auto(s: str):
    if s == "auto":
        return s
    try:
        return int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of streams or 'auto' (from the corpus size), "
                                         f"got {s!r}") from None


def _list(s: str) -> list[str]:
    return [v.strip() for v in s.split(",") if v.strip()]


def _common(p: argparse.ArgumentParser, task: str) -> None:
    from ..cells import CELLS
    from ..training.config import ALGORITHMS_BY_TASK, CONFIGS

    d = CONFIGS[task]()
    g = p.add_argument_group("run")
    g.add_argument("--config", metavar="FILE.toml", help="TOML file with any of the config keys (flags win)")
    g.add_argument("--out", metavar="RUN_DIR", help="run directory to create (default runs/<task>-<time>)")
    g.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    g.add_argument("--data", default=S, metavar="FILE", help="the data file")
    m = p.add_argument_group("model and training")
    m.add_argument("--cell", default=S, help=f"cell family, one of {', '.join(CELLS)} (default {d.cell})")
    m.add_argument("--cell-option", dest="cell_option_list", action="append", default=S, metavar="KEY=VALUE",
                   help="a cell option, repeatable; VALUE in TOML syntax (1.0, true, \"NP\") or a bare word")
    m.add_argument("--algorithm", default=S,
                   help=f"learning algorithm, one of {', '.join(ALGORITHMS_BY_TASK[task])} (default {d.algorithm})")
    m.add_argument("--hidden-size", dest="hidden_size", type=int, default=S, help=f"units per layer (default {d.hidden_size})")
    m.add_argument("--num-layers", "--layers", dest="num_layers", type=int, default=S,
                   help=f"stacked layers (default {d.num_layers})")
    m.add_argument("--optimizer", default=S, help=f"sgd, momentum or adam (default {d.optimizer})")
    m.add_argument("--lr", type=float, default=S, help=f"learning rate (default {d.lr:g})")
    m.add_argument("--epochs", type=int, default=S, help=f"maximum epochs (default {d.epochs})")
    m.add_argument("--batch-size", dest="batch_size", type=_int_or_auto if task == "text" else int, default=S,
                   help=f"sequences per step{'; parallel streams, auto = from the corpus size' if task == 'text' else ''} "
                        f"(default {d.batch_size})")
    m.add_argument("--seed", type=int, default=S, help=f"random seed (default {d.seed})")
    m.add_argument("--dtype", default=S, help=f"float32 or float64 (default {d.dtype})")
    m.add_argument("--clip-norm", dest="clip_norm", type=_float_or_none, default=S,
                   help=f"clip the gradient to this L2 norm, 'none' to disable (default {d.clip_norm})")
    m.add_argument("--grad-norm-limit", dest="grad_norm_limit", type=float, default=S,
                   help=f"stop as exploding when the gradient norm exceeds this (default {d.grad_norm_limit:g})")
    m.add_argument("--patience", type=int, default=S,
                   help=f"early stopping after this many epochs without improvement, 0 = off (default {d.patience})")
    m.add_argument("--val-fraction", dest="val_fraction", type=float, default=S,
                   help=f"held-out fraction (default {d.val_fraction})")


def _forecast(p):
    g = p.add_argument_group("forecast")
    g.add_argument("--target", default=S, help="column to forecast")
    g.add_argument("--features", type=_list, default=S, metavar="COL,COL", help="extra input columns")
    g.add_argument("--date", default=S, metavar="COL", help="column that orders the rows (detected by name if absent)")
    g.add_argument("--horizon", type=int, default=S, help="steps ahead to forecast (default 1)")
    g.add_argument("--window", type=int, default=S, help="steps of history per sample (default 24)")
    g.add_argument("--season", type=int, default=S, help="seasonal period for the seasonal-naive baseline "
                                                          "(default: from the dates, else detected)")
    g.add_argument("--target-mode", dest="target_mode", default=S, choices=["delta", "level"],
                   help="predict changes from the last value (default) or levels")


def _text(p):
    g = p.add_argument_group("text")
    g.add_argument("--seq-len", dest="seq_len", type=int, default=S, help="characters per TBPTT chunk (default 100)")
    g.add_argument("--embedding-dropout", dest="embedding_dropout", type=float, default=S, metavar="P",
                   help="drop whole characters from each chunk with probability P (AWD-LSTM's embedding "
                        "dropout; default 0)")


def _classify(p):
    g = p.add_argument_group("classify")
    g.add_argument("--labels", default=S, metavar="FILE", help="labels file (CSV with id,label) if not in the data")
    g.add_argument("--id-col", dest="id_col", default=S, help="long CSV: sequence id column (default id)")
    g.add_argument("--time-col", dest="time_col", default=S, help="long CSV: time column (default time, optional)")
    g.add_argument("--label-col", dest="label_col", default=S, help="long CSV: label column (default label)")
    g.add_argument("--features", type=_list, default=S, metavar="COL,COL", help="long CSV: feature columns")


def _bridge(s: str):
    value = {"auto": None, "on": True, "true": True, "off": False, "false": False}.get(s.lower(), "?")
    if value == "?":
        raise argparse.ArgumentTypeError(f"expected auto, on or off, got {s!r}")
    return value


def _seq2seq(p):
    from ..seq2seq.attention import CHOICES
    from ..seq2seq.data import TOKENIZERS
    from ..seq2seq.embedding import EMBEDDINGS

    g = p.add_argument_group("seq2seq")
    g.add_argument("--tokens", default=S, choices=list(TOKENIZERS),
                   help="symbols: every character (chars, default) or whitespace-separated words")
    g.add_argument("--attention", default=S, choices=list(CHOICES),
                   help="none (default), dot or general (Luong 2015), bahdanau (additive, Bahdanau 2015)")
    g.add_argument("--attention-size", dest="attention_size", type=int, default=S,
                   help="bahdanau: units of the score's tanh layer (default: --hidden-size)")
    g.add_argument("--input-feeding", dest="input_feeding", action=argparse.BooleanOptionalAction, default=S,
                   help="feed the attentional state h~(t-1) to the decoder (Luong 2015; needs --attention)")
    g.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=S,
                   help="the encoder reads the source both ways")
    g.add_argument("--bridge", type=_bridge, default=S, metavar="auto|on|off",
                   help="a tanh/linear layer from the encoder's final state to the decoder's (auto: when the "
                        "sizes differ)")
    g.add_argument("--embedding", default=S, choices=list(EMBEDDINGS), help="learned (default) or onehot inputs")
    g.add_argument("--embed-size", dest="embed_size", type=int, default=S, help="learned embedding size (default 32)")


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", dest="resume_top", metavar="RUN_DIR", help="continue this run from its last checkpoint")
    p.add_argument("--no-progress", dest="no_progress_top", action="store_true", help="no progress bar")
    p.add_argument("--quiet", dest="quiet_top", action="store_true", help="no per-epoch lines")
    sub = p.add_subparsers(dest="task", metavar="TASK")
    for task, extra in (("forecast", _forecast), ("text", _text), ("classify", _classify), ("seq2seq", _seq2seq)):
        sp = sub.add_parser(task, help=TASK_HELP[task], description=TASK_HELP[task])
        _common(sp, task)
        extra(sp)
    p.error = _explain_task_error(p.error)


def _explain_task_error(error):
    """argparse reads the first word it does not know as the TASK: ``train --resume RUN --epochs 5`` would end
    with only "invalid choice: '5'". Say where options go and that a resumed run takes none."""

    def explained(message: str):
        if message.startswith("argument TASK: invalid choice"):
            message += ("; options come after the task (lstmkit train text --data FILE --epochs 5), and "
                        "--resume RUN_DIR takes none: it continues with the run's saved config")
        error(message)

    return explained


RUN_OPTIONS = {"config", "out", "resume", "no_progress", "quiet", "task", "command", "resume_top",
               "no_progress_top", "quiet_top"}


def _cell_options(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--cell-option: expected KEY=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key.strip()] = value
    return out


def flags_of(args) -> dict:
    flags = {k: v for k, v in vars(args).items() if k not in RUN_OPTIONS}
    if "cell_option_list" in flags:
        flags["cell_options"] = _cell_options(flags.pop("cell_option_list"))
    return flags


@command("train", "train on your own data: forecast a series, model text, classify sequences, map sequences to "
                  "sequences", _train_args)
def train(args) -> int:
    from tqdm.auto import tqdm

    from ..training import config as C
    from ..training.session import train as run_training

    resume = getattr(args, "resume", None) or args.resume_top
    no_progress = getattr(args, "no_progress", False) or args.no_progress_top
    quiet = getattr(args, "quiet", False) or args.quiet_top
    task = args.task

    def log(line: str) -> None:
        if not quiet:
            tqdm.write(line, file=sys.stdout)

    if resume is not None:
        flags = flags_of(args) if task else {}
        if flags or getattr(args, "config", None) or getattr(args, "out", None):
            given = ", ".join("--" + k.replace("_", "-") for k in flags) or "--config/--out"
            raise UsageError(f"--resume continues a run with its saved config; drop {given}")
        from ..runs import Run

        saved_task = Run.open(resume, "--resume").task
        if task is not None and task != saved_task:
            raise UsageError(f"--resume: {resume} is a {saved_task} run, not {task}")
        _, _, text = run_training(saved_task, None, resume=resume, progress=False if no_progress else None, log=log)
    else:
        if task is None:
            raise UsageError("train: name a task (forecast, text, classify or seq2seq) or give --resume RUN_DIR; "
                             "see lstmkit train --help")
        file_values = C.read_toml(args.config) if args.config else {}
        cfg = C.resolve(task, file_values, flags_of(args))
        _, _, text = run_training(task, cfg, out=args.out, progress=False if no_progress else None, log=log)
    print(text)
    return 0
