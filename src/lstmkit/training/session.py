"""One training run from a resolved config: load the data, build the net, train, write the run directory.

This is what ``lstmkit train`` calls; the estimators use the same task classes and loop without a
run directory. Order matters for "nothing half-written": the data is read and checked *before* the
run directory is created, and a run that fails before its first finished epoch is removed again.
"""
from __future__ import annotations

import time

import numpy as np

from .. import runs
from . import config as C
from .common import build_network, build_optimizer
from .trainer import fit


def load_task(task: str, cfg):
    """Read the data files named by ``cfg`` and build the task object (all input checks happen here)."""
    if task == "seq2seq":
        from . import seq2seq

        return seq2seq.load_task(cfg)
    if task == "forecast":
        from ..data.series import load_series
        from .forecast import ForecastTask

        s = load_series(cfg.data, cfg.target, cfg.features, cfg.date)
        return ForecastTask(s.values, cfg, s.columns, s.period_hint, s.period_source, s.dates)
    if task == "text":
        from ..data.text import load_corpus
        from .text import TextTask

        return TextTask(load_corpus(cfg.data), cfg)
    from ..data.sequences import load_sequences
    from .classify import ClassifyTask

    seqs = load_sequences(cfg.data, cfg.labels, cfg.id_col, cfg.time_col, cfg.label_col, cfg.features)
    return ClassifyTask(seqs.x, seqs.labels, cfg, features=seqs.features)


def network_for(task: str, cfg, t):
    if task == "seq2seq":
        return t.build_model()
    if task == "forecast":
        return build_network(cfg, t.values.shape[1], cfg.horizon, "identity")
    if task == "text":
        return build_network(cfg, t.V, t.V, "softmax")
    return build_network(cfg, len(t.features), t.K, t.activation)


def _data_hashes(cfg) -> dict:
    out = {"data": runs.file_sha256(cfg.data)}
    if getattr(cfg, "labels", None):
        out["labels"] = runs.file_sha256(cfg.labels)
    return out


def train(task: str, cfg, out=None, resume=None, progress: bool | None = None, log=print) -> tuple[runs.Run, dict, str]:
    """Run (or, with ``resume`` = a run directory, continue) training.

    Returns the run, its summary (the content of summary.json) and the one-screen report.
    """
    if resume is not None:
        run = runs.Run.open(resume, "--resume")
        saved = run.config()
        try:
            task, cfg = C.from_dict(saved)
        except (TypeError, ValueError) as e:
            raise ValueError(f"--resume: {run.path / 'config.json'} is damaged: {e}") from None
        state = run.data_state()
        if run.summary() is not None and (run.path / "model").is_dir():
            log(f"{run.path}: this run has finished; nothing to resume")
            summary = run.summary()
            return run, summary, report(task, load_task(task, cfg), summary)
        if state.get("sha256") != _data_hashes_or_error(cfg):
            raise ValueError(f"--resume: the data file {cfg.data} changed since the run started (SHA-256 differs); "
                             f"a resumed run must see the same data; start a new run instead")
        t = load_task(task, cfg)
        run.lock()
        net, optimizer = network_for(task, cfg, t), build_optimizer(cfg)
    else:
        if out is not None:
            runs.Run.check_new(out)              # before reading any data: the cheapest mistake first
        t = load_task(task, cfg)
        net, optimizer = network_for(task, cfg, t), build_optimizer(cfg)   # before the directory: a bad size
        state = {**t.data_state(), "sha256": _data_hashes(cfg)}           # leaves nothing behind
        run = runs.Run.create(out if out is not None else runs.default_run_dir(task), C.to_dict(cfg, task), state,
                              numbered=out is None)
    try:
        return _train_in(run, task, cfg, t, net, optimizer, resume is not None, progress, log)
    except BaseException as e:
        if run.has_checkpoint():
            if isinstance(e, KeyboardInterrupt):
                e.add_note(f"the last finished epoch is saved; continue with: lstmkit train --resume {run.path}")
        elif resume is None:
            run.remove()                         # nothing worth keeping; the --out path is free again
        raise
    finally:
        run.close()


def _train_in(run, task, cfg, t, net, optimizer, resuming: bool, progress, log):
    rng = np.random.default_rng([cfg.seed, 1])
    if not resuming:
        log(f"{task}: {net.num_weights} weights, cell {cfg.cell}, {cfg.num_layers}x{cfg.hidden_size}, "
            f"{cfg.algorithm}, {cfg.optimizer} lr {cfg.lr:g}, {cfg.dtype}; run directory {run.path}")
    else:
        log(f"resuming {run.path}")
    result = fit(t, net, optimizer, cfg, rng, run=run, progress=progress, log=log,
                 resume=resuming and run.has_checkpoint())
    run.save_model(net)
    summary = make_summary(task, cfg, t, net, result, run)
    run.write_summary(summary)
    return run, summary, report(task, t, summary)


def _data_hashes_or_error(cfg) -> dict:
    try:
        return _data_hashes(cfg)
    except FileNotFoundError:
        raise FileNotFoundError(f"--resume: the run's data file {cfg.data} is gone; restore it to resume") from None


def make_summary(task: str, cfg, t, net, result, run=None) -> dict:
    st = result.state
    body = t.summary(net, result)
    return {"task": task, "run_dir": str(run.path) if run is not None else None,
            "epochs_run": st.epoch, "best_epoch": st.best_epoch, "stop_reason": st.stop_reason,
            "seconds": round(st.seconds, 3), "num_weights": int(net.num_weights),
            "model": {"cell": cfg.cell, "hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers,
                      "algorithm": cfg.algorithm, "optimizer": cfg.optimizer, "lr": cfg.lr, "dtype": cfg.dtype},
            **body, "data": {k: v for k, v in t.data_state().items()
                             if k not in ("vocab", "unigram_counts", "scaler")},
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}


def report(task: str, t, summary: dict) -> str:
    """The one-screen summary printed at the end."""
    lines = [f"done: {summary['epochs_run']} epochs ({summary['stop_reason']}), best epoch {summary['best_epoch']}, "
             f"{summary['seconds']:.1f} s, {summary['num_weights']} weights"]
    lines += t.report_lines(summary)
    if summary.get("run_dir"):
        plot = "" if task == "seq2seq" else f"; lstmkit plot {summary['run_dir']}"   # plot does not draw seq2seq runs
        lines.append(f"run directory: {summary['run_dir']}  (model/, summary.json, metrics.jsonl{plot})")
    return "\n".join(lines)
