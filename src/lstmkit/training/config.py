"""Training configurations: one frozen dataclass per task, resolved from defaults, a TOML file and flags.

Precedence: the dataclass default < the ``--config`` TOML file < command-line flags. Every key must
name a field of the task's config (unknown keys are errors listing the known ones) and keep its type
(an integer is accepted where a float is expected). The resolved config is written to the run
directory as JSON and is all that ``--resume`` needs.

The defaults are what a practitioner expects today: the modern ``lstm`` cell with forget-gate bias 1
(Jozefowicz et al. 2015), Adam, gradient clipping, early stopping on the validation loss, float32, and
truncated BPTT with carried state for text streams, as many streams as leave an epoch 100 weight updates.
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("forecast", "text", "classify", "seq2seq")

# Which learning algorithms each task can use (the CLI's --algorithm).
ALGORITHMS_BY_TASK = {
    "forecast": ("bptt", "rtrl1997"),     # windows are short sequences: full BPTT; the 1997 rule for lstm1997 cells
    "text": ("tbptt", "bptt"),            # tbptt carries the state across chunks; bptt resets it every chunk
    "classify": ("bptt", "rtrl1997"),
    "seq2seq": ("bptt",),                 # teacher forcing, full BPTT through decoder and encoder
}


@dataclass(frozen=True)
class TrainConfig:
    """Fields shared by every task."""

    data: str = ""                         # the data file (resolved to an absolute path)
    cell: str = "lstm"                     # any name in lstmkit.CELLS
    cell_options: dict = field(default_factory=dict)  # options of that cell, e.g. {"peepholes": true}
    algorithm: str = "bptt"                # see ALGORITHMS_BY_TASK
    hidden_size: int = 32                  # units per layer
    num_layers: int = 1                    # stacked recurrent layers
    optimizer: str = "adam"                # sgd, momentum or adam (lstmkit.OPTIMIZERS)
    lr: float = 1e-3                       # Adam's usual step size
    epochs: int = 100                      # upper limit; early stopping usually ends sooner
    batch_size: int = 32                   # sequences per weight step (text: parallel streams)
    seed: int = 0                          # weights, shuffling and the split all follow from it
    dtype: str = "float32"                 # float32 is fast and plenty for training; float64 for checks
    clip_norm: float | None = 1.0          # rescale gradients to at most this L2 norm (None: off)
    grad_norm_limit: float = 1e6           # a gradient norm above this (before clipping) stops training
    patience: int = 10                     # early stopping: epochs without a better validation loss (0: off)
    val_fraction: float = 0.2              # held-out part (time-ordered for series and text)


@dataclass(frozen=True)
class ForecastConfig(TrainConfig):
    target: str = ""                       # the column to forecast
    features: list[str] = field(default_factory=list)  # extra input columns (their future is not used)
    date: str | None = None                # a column that orders the rows (detected by name if None)
    horizon: int = 1                       # forecast the next H steps from each window
    window: int = 24                       # steps of history the model reads
    season: int | None = None              # seasonal period of the seasonal-naive baseline (None: detect)
    target_mode: str = "delta"             # predict y(o+k) - y(o) ("delta") or y(o+k) itself ("level")
    hidden_size: int = 32
    epochs: int = 200
    patience: int = 20


@dataclass(frozen=True)
class TextConfig(TrainConfig):
    algorithm: str = "tbptt"               # long streams: truncated BPTT, state carried across chunks
    batch_size: int | str = "auto"         # parallel streams; "auto": from the corpus size (training.text.auto_streams)
    seq_len: int = 100                     # characters per chunk (TBPTT's k1 = k2)
    hidden_size: int = 128
    num_layers: int = 2                    # a stacked LSTM, as char-rnn
    lr: float = 2e-3                       # char-rnn's Adam step size
    epochs: int = 10
    clip_norm: float | None = 5.0          # per-character mean loss: char-rnn's clip
    patience: int = 3
    val_fraction: float = 0.1              # the last 10% of the corpus is held out
    embedding_dropout: float = 0.0         # drop whole characters (word types) per chunk (Gal 2016 §4.2, AWD-LSTM)


@dataclass(frozen=True)
class ClassifyConfig(TrainConfig):
    labels: str | None = None              # a separate labels file (CSV: id,label)
    id_col: str = "id"                     # long-format CSV: sequence id column
    time_col: str = "time"                 # long-format CSV: step order column (optional in the file)
    label_col: str = "label"               # long-format CSV: label column
    features: list[str] | None = None      # long-format CSV: feature columns (None: all others)
    hidden_size: int = 64
    lr: float = 3e-3
    epochs: int = 100
    patience: int = 15


@dataclass(frozen=True)
class Seq2SeqConfig(TrainConfig):
    tokens: str = "chars"                  # symbols: "chars" (every character) or "words" (split at whitespace)
    embedding: str = "learned"             # "learned" lookup table or fixed "onehot" vectors
    embed_size: int = 32                   # d of the learned embeddings
    attention: str = "none"                # none, dot, general (Luong 2015) or bahdanau (Bahdanau 2015)
    attention_size: int | None = None      # Bahdanau's tanh layer (None: hidden_size)
    input_feeding: bool = False            # Luong's input feeding (needs attention)
    bidirectional: bool = False            # the encoder reads both ways (the bridge then maps 2H -> H)
    bridge: bool | None = None             # None: a bridge exactly when the encoder's state is wider
    hidden_size: int = 64
    lr: float = 3e-3
    epochs: int = 50
    patience: int = 5
    val_fraction: float = 0.1              # held-out pairs, drawn from the seed


CONFIGS: dict[str, type[TrainConfig]] = {"forecast": ForecastConfig, "text": TextConfig, "classify": ClassifyConfig,
                                         "seq2seq": Seq2SeqConfig}
PATH_FIELDS = ("data", "labels")


def fields_of(task: str) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(CONFIGS[task])}


def _check_type(key: str, value, annotation: str, where: str):
    kinds = [a.strip() for a in annotation.split("|")]
    if value is None:
        if "None" in kinds:
            return None
        raise TypeError(f"{where}: {key} must not be empty/None (expected {annotation})")
    for k in kinds:
        if k == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if k == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if k == "str" and isinstance(value, str):
            return value
        if k == "bool" and isinstance(value, bool):
            return value
        if k == "dict" and isinstance(value, dict):
            return dict(value)
        if k == "list[str]" and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
    raise TypeError(f"{where}: {key} expects {annotation}, got {type(value).__name__} {value!r}")


def read_toml(path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--config: {p} does not exist; pass a TOML file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"--config: {p} is not valid TOML ({e})") from None
    except RecursionError:                     # tomllib recurses per nesting level; a config is two levels deep
        raise ValueError(f"--config: {p} is nested too deeply to be a training config; "
                         f"a config holds keys and one [cell_options] table") from None
    base = p.resolve().parent
    for k in PATH_FIELDS:                      # paths in a config file are relative to the file
        if isinstance(data.get(k), str) and not Path(data[k]).is_absolute():
            data[k] = str(base / data[k])
    return data


def resolve(task: str, file_values: dict | None = None, flags: dict | None = None, where_file: str = "--config",
            in_memory: bool = False):
    """The task's config from defaults < file < flags; validates keys, types and values.

    ``in_memory=True`` (the estimators) has no data file: ``data`` is not required.
    """
    if task not in CONFIGS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    known = fields_of(task)
    merged: dict[str, Any] = {}
    for where, values in ((where_file, file_values or {}), ("flags", flags or {})):
        values = dict(values)
        t = values.pop("task", task)
        if t != task:
            raise ValueError(f"{where}: task {t!r} does not match the command's task {task!r}")
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"{where}: unknown key {key!r} for task {task}; known keys: {', '.join(sorted(known))}")
            ann = known[key].type if isinstance(known[key].type, str) else known[key].type.__name__
            merged[key] = _check_type(key, value, ann, where)
    if "cell_options" in (flags or {}) and "cell_options" in (file_values or {}):
        merged["cell_options"] = {**file_values["cell_options"], **flags["cell_options"]}
    for k in PATH_FIELDS:
        if merged.get(k) and not in_memory:
            merged[k] = str(Path(merged[k]).expanduser().resolve())
    cfg = CONFIGS[task](**merged)
    return _finish(task, cfg, set(merged), in_memory)


def _finish(task: str, cfg: TrainConfig, given: set[str], in_memory: bool = False) -> TrainConfig:
    """Defaults that depend on other fields, then value checks."""
    from .. import _validate as V
    from ..cells import CELLS, get_cell
    from ..learn.optim import OPTIMIZERS

    changes: dict[str, Any] = {}
    if not cfg.data and not in_memory:
        raise ValueError("--data: required (the data file to train on)")
    if cfg.algorithm not in ALGORITHMS_BY_TASK[task]:
        raise ValueError(f"--algorithm: {cfg.algorithm!r} does not apply to {task}; available: "
                         f"{', '.join(ALGORITHMS_BY_TASK[task])}")
    if cfg.cell not in CELLS:
        raise ValueError(f"--cell: unknown cell {cfg.cell!r}; expected one of {', '.join(CELLS)}")
    opts = dict(cfg.cell_options)
    if cfg.cell == "lstm" and "forget_bias" not in opts:
        opts["forget_bias"] = 1.0              # Jozefowicz et al. 2015; torch's 0 is recorded as an explicit choice
    changes["cell_options"] = opts
    if cfg.algorithm == "rtrl1997":
        if cfg.cell != "lstm1997" or cfg.num_layers != 1:
            raise ValueError(f"--algorithm rtrl1997: the paper's rule trains one layer of lstm1997 cells; got cell "
                             f"{cfg.cell!r} with {cfg.num_layers} layer(s); use --cell lstm1997 --num-layers 1 or "
                             f"--algorithm bptt")
        if "optimizer" in given and cfg.optimizer != "sgd":
            raise ValueError(f"--algorithm rtrl1997 changes the weights online with plain steps of size --lr; "
                             f"--optimizer {cfg.optimizer!r} does not apply (use sgd)")
        if "batch_size" in given and cfg.batch_size != 1:
            raise ValueError("--algorithm rtrl1997 is online, one sequence at a time; --batch-size must be 1")
        changes.update(optimizer="sgd", batch_size=1)
        if "lr" not in given:
            changes["lr"] = 0.1
        if "clip_norm" not in given:
            changes["clip_norm"] = None
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"--optimizer: unknown {cfg.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    cfg = dataclasses.replace(cfg, **changes)
    # Sizes first, each under its own flag: the probe cell below would report them as --cell-option.
    V.positive_int("--hidden-size", cfg.hidden_size, maximum=V.MAX_SIZE)
    V.positive_int("--num-layers", cfg.num_layers, maximum=V.MAX_LAYERS)
    if isinstance(cfg, TextConfig) and isinstance(cfg.batch_size, str):
        if cfg.batch_size != "auto":
            raise ValueError(f"--batch-size: expected a positive integer or 'auto' (streams from the corpus "
                             f"size), got {cfg.batch_size!r}")
    else:
        V.positive_int("--batch-size", cfg.batch_size, maximum=V.MAX_SIZE)
    if isinstance(cfg, ForecastConfig):
        V.positive_int("--horizon", cfg.horizon, maximum=V.MAX_SIZE)
        V.positive_int("--window", cfg.window, maximum=V.MAX_SIZE)
        if cfg.season is not None:
            V.positive_int("--season", cfg.season, maximum=V.MAX_SIZE)
    if isinstance(cfg, TextConfig):
        V.positive_int("--seq-len", cfg.seq_len, maximum=V.MAX_SIZE)
        if not 0.0 <= cfg.embedding_dropout < 1.0:
            raise ValueError(f"--embedding-dropout: expected a rate in [0, 1), got {cfg.embedding_dropout}; "
                             f"0 turns it off, 0.1 is AWD-LSTM's")
    V.positive_int("--epochs", cfg.epochs)
    V.positive_float("--lr", cfg.lr)
    V.positive_float("--grad-norm-limit", cfg.grad_norm_limit)
    V.dtype("--dtype", cfg.dtype)
    if cfg.clip_norm is not None:
        V.positive_float("--clip-norm", cfg.clip_norm)
    V.positive_int("--patience", cfg.patience, minimum=0)
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or cfg.seed < 0:
        raise ValueError(f"--seed: expected an integer >= 0, got {cfg.seed!r}")
    if not 0.0 < cfg.val_fraction < 1.0:
        raise ValueError(f"--val-fraction: expected a number between 0 and 1 (exclusive), got {cfg.val_fraction}")
    try:                                       # the cell checks its own options
        get_cell(cfg.cell)(1, cfg.hidden_size, dtype=cfg.dtype, **opts)
    except TypeError as e:
        raise TypeError(f"--cell-option: {e}") from None
    except ValueError as e:
        raise ValueError(f"--cell-option: {e}") from None
    if isinstance(cfg, Seq2SeqConfig):
        _check_seq2seq(cfg)
    if isinstance(cfg, ForecastConfig):
        if not cfg.target and not in_memory:
            raise ValueError("--target: required (the column to forecast)")
        if cfg.target_mode not in ("delta", "level"):
            raise ValueError(f"--target-mode: expected 'delta' or 'level', got {cfg.target_mode!r}")
    return cfg


def _check_seq2seq(cfg: "Seq2SeqConfig") -> None:
    """The model's own checks of its options, reported under the flags that set them."""
    from ..seq2seq.data import check_tokens
    from ..seq2seq.model import check_options

    if cfg.cell != "lstm":
        raise ValueError(f"--cell: seq2seq's encoder and decoder are lstm cells, got {cfg.cell!r}; drop --cell "
                         f"(cell variants go in --cell-option)")
    check_tokens(cfg.tokens)
    check_options({"hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers, "embedding": cfg.embedding,
                   "embed_size": cfg.embed_size, "bidirectional": cfg.bidirectional, "attention": cfg.attention,
                   "attention_size": cfg.attention_size, "input_feeding": cfg.input_feeding, "bridge": cfg.bridge},
                  flags=True)                 # cell options: checked by the cell, and by Seq2Seq (h and c only)



def to_dict(cfg: TrainConfig, task: str) -> dict:
    return {"task": task, **dataclasses.asdict(cfg)}


def from_dict(d: dict) -> tuple[str, TrainConfig]:
    """Rebuild a saved config (run directory); refuses keys this version does not know."""
    d = dict(d)
    task = d.pop("task", None)
    if task not in CONFIGS:
        raise ValueError(f"config: unknown task {task!r} in the saved config")
    known = fields_of(task)
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ValueError(f"config: saved config has keys this lstmkit does not know ({', '.join(unknown)}); "
                         f"use the lstmkit release that wrote the run")
    for key, value in d.items():               # a damaged config.json must not reach the network as a wrong type
        ann = known[key].type if isinstance(known[key].type, str) else known[key].type.__name__
        d[key] = _check_type(key, value, ann, "config")
    return task, CONFIGS[task](**d)


def dumps(cfg: TrainConfig, task: str) -> str:
    return json.dumps(to_dict(cfg, task), indent=2, sort_keys=True) + "\n"
