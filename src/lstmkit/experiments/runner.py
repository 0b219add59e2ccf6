"""Run the trials of table rows, in this process or on a Dask cluster, resumably.

Layout of an output directory ``DIR``::

    DIR/reproduce.json                the marker of an output directory of this runner
    DIR/trials/<id>/trial-<k>.json    one finished trial (written atomically the moment it finishes)
    DIR/models/<id>/trial-<k>/        its final network with --save-models (lstmkit.load reads it)
    DIR/results.json, DIR/results.md  the report over every finished trial (report.py)

Guarantees:

* **Determinism.** Trial k of row ``id`` depends only on ``(seed, id, k)`` and the row's config
  (``trial.trial_seed``), never on which worker runs it, in which order, or how many workers there are.
* **Crash safety.** A trial's record is written to a temporary file, fsynced and renamed into place, so a
  file that exists is complete. Ctrl-C, a crash or ``kill -9`` loses at most the trials still running.
* **Resume.** Rerunning the same command skips every trial whose file exists. Each record stores the
  seed and a fingerprint of the row's effective config; a file from a different seed or config is an
  error (use another ``--out``), never silently mixed in.

Parallelism: ``workers=1`` runs the trials here, without Dask. More workers start a
``dask.distributed.LocalCluster`` of processes with one thread each (trials are single-threaded: BLAS is
limited to one thread inside a trial); ``scheduler="tcp://host:port"`` uses an existing cluster, whose
workers need lstmkit installed. Results come back to this process, which writes them, so remote workers
need no shared file system (``--save-models`` pickles the network back).
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write_text
from .configs import Experiment
from .study import COMMON_FIELDS, StudyRow

Row = Experiment | StudyRow   # a row of the 1997 paper or of a study (study.py)


def trial_path(out: Path, exp_id: str, k: int) -> Path:
    return Path(out) / "trials" / exp_id / f"trial-{k}.json"


def model_path(out: Path, exp_id: str, k: int) -> Path:
    return Path(out) / "models" / exp_id / f"trial-{k}"


def run_key(exp: Row, seed: int) -> dict:
    """What a stored trial must match to be reused: the base seed and the effective config."""
    return {"seed": int(seed), "config": exp.fingerprint()}


def _damaged(rec, exp) -> str | None:
    """What is wrong with a stored trial record, or None when it has every field the report reads
    (``study.COMMON_FIELDS`` and the row's own ``record_fields``)."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    counts = {k for k, _ in COMMON_FIELDS} | ({k for k, _ in exp.record_fields} if isinstance(exp, Experiment)
                                               else set())
    for key, kinds in COMMON_FIELDS + tuple(exp.record_fields):
        v = rec.get(key)
        if not isinstance(v, kinds) or (kinds != (bool,) and isinstance(v, bool)):
            return f"field {key!r} is {v!r}"
        # counts and times are never negative; a study's own numbers may be (or NaN, an overflowed test)
        if key in counts and isinstance(v, (int, float)) and not v >= 0:
            return f"field {key!r} is {v!r} (negative)"
    if "seed" not in rec or not isinstance(rec.get("curve", []), list):
        return "field 'seed' or 'curve' is missing or of the wrong kind"
    return None


def load_trial(out: Path, exp: Row, k: int, seed: int) -> dict | None:
    """The stored record of trial k, or None if it is not there; raises if it belongs to another run.

    A damaged record (it cannot come from this runner, which writes atomically, but disks and people
    edit files) counts as not there, with a warning: the trial runs again and its file is rewritten.
    """
    path = trial_path(out, exp.id, k)
    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text())
        why = _damaged(rec, exp)
    except (OSError, ValueError, RecursionError) as e:
        why = f"{type(e).__name__}: {str(e)[:80]}"
    if why is not None:
        import warnings

        warnings.warn(f"{path} is damaged ({why}); the trial runs again", stacklevel=2)
        return None
    if rec.get("run") != run_key(exp, seed):
        raise ValueError(
            f"out: {path} belongs to a different run (stored {rec.get('run')}, this run "
            f"{run_key(exp, seed)}: another --seed, --quick setting or config); use another --out or delete "
            f"{path.parent}")
    return rec


# ------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Job:
    exp: Row                    # the effective row (quick budget applied)
    k: int                      # trial index

    @property
    def label(self) -> str:
        return f"{self.exp.id} trial {self.k}"


MAX_TRIALS = 10_000      # per row; the paper ran 10-30, and 10,000 of its trials would take years here


def check_trials(trials) -> int | None:
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS):
        raise ValueError(f"trials: expected a number of trials per row in 1..{MAX_TRIALS}, got {trials!r}")
    return trials


def prepare_out(out) -> Path:
    """Check and claim the output directory before any trial runs, so no trial's work is lost to a bad --out.

    It must be new, empty, or one this runner wrote (``DIR/trials`` or the marker ``DIR/reproduce.json``);
    a file, or a directory of other things, is refused. Writing the marker proves ``DIR`` writable.
    """
    from .. import __version__
    from .._atomic import atomic_write_bytes

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} is a file; expected a directory for the trials (new, or one of an earlier "
                         f"run to resume)")
    marker = out / "reproduce.json"
    if out.is_dir() and any(out.iterdir()) and not (out / "trials").is_dir() and not marker.is_file():
        raise ValueError(f"--out: {out} exists and holds other things (no trials/ or reproduce.json of lstmkit "
                         f"reproduce); choose a new --out or an earlier run's")
    try:
        (out / "trials").mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            atomic_write_bytes(marker, json.dumps({"format": "lstmkit-reproduce", "format_version": 1,
                                                   "lstmkit": __version__}).encode() + b"\n", what="--out")
    except OSError as e:
        raise ValueError(f"--out: cannot write into {out}: {e.strerror or e}; check the path and its "
                         f"permissions") from None
    return out


def plan(rows: Sequence[Row], trials: int | None, quick: bool) -> list[Job]:
    """Every (row, trial) to run, rows in registry order, trials in index order."""
    check_trials(trials)
    jobs = []
    for row in rows:
        n = trials if trials is not None else (row.quick.trials if quick else row.trials)
        eff = row.effective(quick)
        jobs.extend(Job(eff, k) for k in range(n))
    return jobs


def collect(rows: Sequence[Row], out, *, trials: int | None = None, quick: bool = False,
            seed: int = 0) -> dict[str, list[dict]]:
    """The trials of ``rows`` already finished in ``out`` (none is run): ``{id: [records]}``, a row's
    records in index order with the missing ones left out. A full run done in parts reports from this."""
    done: dict[str, list[dict]] = {}
    for job in plan(rows, trials, quick):
        rec = load_trial(Path(out), job.exp, job.k, seed)
        if rec is not None:
            done.setdefault(job.exp.id, []).append(rec)
    return done


def stored_run(out, rows: Sequence[Row]) -> tuple[set, set]:
    """The ``--seed`` values and ``--quick`` settings the trials of ``rows`` in ``out`` were run with.

    A row whose quick and full configs coincide tells nothing about ``--quick``. ``--report-only`` uses
    this so that a run's flags need not be repeated.
    """
    seeds, kinds = set(), set()
    for exp in rows:
        quick_print, full_print = exp.effective(True).fingerprint(), exp.fingerprint()
        for path in sorted((Path(out) / "trials" / exp.id).glob("trial-*.json")):
            try:
                key = json.loads(path.read_text()).get("run")
            except (OSError, ValueError, AttributeError):
                continue                  # not a record of this runner: load_trial redoes or refuses it
            if not isinstance(key, dict) or not isinstance(key.get("seed"), int):
                continue
            seeds.add(key["seed"])
            if quick_print != full_print and key.get("config") in (quick_print, full_print):
                kinds.add(key["config"] == quick_print)
    return seeds, kinds


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def dask_available() -> bool:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------------------- run
def _run_job(exp: Row, k: int, seed: int, keep_model: bool) -> dict:
    """Trial k of any row, in this process or on a Dask worker: the row knows its own protocol."""
    return exp.run_trial(k, seed, keep_model=keep_model)


def _finish(out: Path, job: Job, rec: dict, seed: int) -> dict:
    """Store one finished trial: the model first (if any), then the record that marks the trial done."""
    model = rec.pop("model", None)
    if model is not None:
        from ..io import save

        save(model, model_path(out, job.exp.id, job.k))
    rec["run"] = run_key(job.exp, seed)
    atomic_write_text(trial_path(out, job.exp.id, job.k), json.dumps(rec, indent=1, sort_keys=True) + "\n")
    return rec


def run(rows: Sequence[Row], out, *, trials: int | None = None, quick: bool = False, seed: int = 0,
        workers: int | None = None, scheduler: str | None = None, save_models: bool = False,
        progress: bool = True, log: Callable[[str], None] | None = None) -> dict[str, list[dict]]:
    """Run (or resume) every trial of ``rows``; return ``{id: [trial records in index order]}``.

    ``workers``: None = all cores (in this process when Dask is not installed); 1 = in this process.
    """
    from tqdm.auto import tqdm

    log = log or (lambda msg: print(msg, file=sys.stderr))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: expected a positive int, got {workers!r}")
    jobs = plan(rows, trials, quick)              # checks trials, before anything is written
    out = prepare_out(out)
    done: dict[tuple[str, int], dict] = {}
    pending: list[Job] = []
    for job in jobs:
        rec = load_trial(out, job.exp, job.k, seed)
        if rec is None:
            pending.append(job)
        else:
            done[(job.exp.id, job.k)] = rec
    if scheduler is None:
        if workers is None:
            workers = default_workers()
            if workers > 1 and not dask_available():
                log("lstmkit: dask.distributed is not installed: running the trials one after another in this "
                    "process (pip install 'lstmkit[dist]' for parallel trials)")
                workers = 1
        workers = min(workers, max(1, len(pending)))
    elif not dask_available():
        raise ValueError("scheduler: connecting to a Dask cluster needs dask.distributed; "
                         "pip install 'lstmkit[dist]'")

    bar = tqdm(total=len(jobs), initial=len(done), unit="trial", disable=not progress, dynamic_ncols=True,
               desc="trials")
    seqs = sum(r["sequences"] for r in done.values())

    def finished(job: Job, rec: dict) -> None:
        nonlocal seqs
        done[(job.exp.id, job.k)] = _finish(out, job, rec, seed)
        seqs += rec["sequences"]
        bar.update(1)
        bar.set_postfix_str(f"{job.exp.id} #{job.k} {'solved' if rec['solved'] else 'unsolved'}; "
                            f"{seqs:,} sequences trained", refresh=True)

    try:
        if pending and scheduler is None and workers == 1:
            for job in pending:
                bar.set_description_str(f"trials ({job.label})")
                finished(job, _run_job(job.exp, job.k, seed, save_models))
        elif pending:
            _run_dask(pending, seed, save_models, workers, scheduler, finished, log)
    finally:
        bar.close()
    results: dict[str, list[dict]] = {}
    for job in jobs:
        results.setdefault(job.exp.id, []).append(done[(job.exp.id, job.k)])
    return results


def _run_dask(pending: list[Job], seed: int, save_models: bool, workers: int, scheduler: str | None,
              finished: Callable[[Job, dict], None], log) -> None:
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    import dask

    cluster = None
    if scheduler is None:
        # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which makes glibc return freed memory
        # to the system at once; trials allocate and free megabyte arrays per chunk, and the page faults
        # tripled their system time. Keep Dask's one-thread BLAS settings, drop the malloc one.
        environ = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            # The dashboard on a free port: a second run beside this one must not fight over 8787.
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise ValueError(f"scheduler: cannot connect to {scheduler!r} ({e}); expected the address of a "
                             f"running Dask scheduler, e.g. tcp://10.0.0.5:8786") from None
    try:
        if importlib.util.find_spec("bokeh") is not None:     # Dask's dashboard needs bokeh
            log(f"lstmkit: {len(pending)} trials on Dask; its dashboard: {client.dashboard_link}")
        futures = {}
        for i, job in enumerate(pending):
            # Earlier jobs first (Dask runs higher priority first); pure=False: never dedupe trials.
            fut = client.submit(_run_job, job.exp, job.k, seed, save_models, pure=False, priority=-i,
                                key=f"trial-{job.exp.id}-{job.k}-{seed}-{job.exp.fingerprint()}")
            futures[fut] = job
        for fut in as_completed(futures):
            job = futures[fut]
            finished(job, fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["Job", "MAX_TRIALS", "check_trials", "collect", "dask_available", "default_workers", "load_trial", "plan",
           "prepare_out", "run", "stored_run", "trial_path"]
