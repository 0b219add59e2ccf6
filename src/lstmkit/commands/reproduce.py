"""``lstmkit reproduce``: rerun the 1997 paper's experiments and print them beside its tables."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import UsageError, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", default=None,
                   help="a row id (4-1, 2c-5, 6a, 2a-rtrl-p4-a1, 4-modern, ...), an experiment (1, 2a, 2c, 3, 4, "
                        "...), 'all' (the 1997 paper), a descendant's study (gers2000, gers2002, greff) or "
                        "'descendants' (the three)")
    p.add_argument("--trials", type=int, default=None,
                   help="trials per row (default: the paper's count; with --quick: the quick count)")
    p.add_argument("--quick", action="store_true", default=None,
                   help="the quick set: the shortest setting of every experiment, few trials, capped budgets "
                        "(same code path; 'all --quick' takes a few minutes)")
    p.add_argument("--seed", type=int, default=None,
                   help="base seed (default 0; --report-only: the run's); trial k of row id uses seed (S, id, k)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: all cores; 1 = no Dask, in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786, instead of a local cluster")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default: reproduce-out/quick or reproduce-out/full); rerunning the "
                        "same command resumes it")
    p.add_argument("--save-models", action="store_true", help="keep each trial's final network in DIR/models/")
    p.add_argument("--plots", action="store_true", help="write learning curves to DIR/plots/ (needs matplotlib)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: tables, results.json and results.md from the trials already finished in "
                        "DIR (a run done in parts, or one still going); unfinished rows are marked. The run's "
                        "--seed and --quick are read from its trials")
    p.add_argument("--list", action="store_true", help="list the rows and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _list_rows() -> str:
    from ..experiments import EXPERIMENTS
    from ..experiments.study import rows_by_id

    rows = [*EXPERIMENTS.values(), *rows_by_id().values()]
    w = max(16, *(len(e.id) + 1 for e in rows))
    g = max(7, *(len(e.experiment) + 1 for e in rows))
    lines = [f"{'id':<{w}} {'exp':<{g}} {'method':<9} {'trials':>6} {'quick':>5}  setting"]
    for e in rows:
        lines.append(f"{e.id:<{w}} {e.experiment:<{g}} {e.method:<9} {e.trials:>6} "
                     f"{'yes' if e.quick.include else '':>5}  {e.setting}")
    return "\n".join(lines)


@command("reproduce", "rerun the paper's experiments (Tables 1-9), baselines and modern rows, and the "
                      "descendants' studies; print ours vs the papers'", _args)
def reproduce(args) -> int:
    from ..experiments import report, run, select
    from ..experiments.runner import MAX_TRIALS, collect, plan, prepare_out, stored_run

    if args.list:
        print(_list_rows())
        return 0
    if args.target is None:
        raise UsageError("reproduce: expected a row id, an experiment or 'all' (see --list)")
    if args.trials is not None and not 1 <= args.trials <= MAX_TRIALS:
        raise UsageError(f"--trials: expected a number of trials per row in 1..{MAX_TRIALS}, got {args.trials}")
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise UsageError(f"--workers: expected a number of worker processes in 1..1024, got {args.workers}")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers and --scheduler exclude each other: the cluster's workers run the trials")
    quick, seed = bool(args.quick), args.seed
    out = Path(args.out) if args.out else Path("reproduce-out") / ("quick" if quick else "full")
    if args.report_only:
        if not (out / "trials").is_dir():
            raise UsageError(f"--report-only: {out} holds no finished trials (no {out / 'trials'}); give the --out "
                             "of a run")
        # Flags not given are the run's own, read from its trials (a row id selects itself either way).
        seeds, kinds = stored_run(out, select(args.target, quick=False))
        if seed is None and len(seeds) > 1:
            raise UsageError(f"--report-only: {out} holds trials of seeds {sorted(seeds)}; give --seed")
        if args.quick is None and len(kinds) > 1:
            raise UsageError(f"--report-only: {out} holds trials of quick and full runs; give --quick or not "
                             "and name the rows")
        seed = seeds.pop() if seed is None and seeds else seed
        quick = kinds.pop() if args.quick is None and kinds else quick
    seed = 0 if seed is None else seed
    rows = select(args.target, quick=quick)
    if not rows:
        raise UsageError(f"reproduce: {args.target!r} has no row in the quick set; name a row id to run it quick")
    t0 = time.perf_counter()
    planned = None
    if args.report_only:
        results = collect(rows, out, trials=args.trials, quick=quick, seed=seed)
        planned = {}
        for job in plan(rows, args.trials, quick):
            planned[job.exp.id] = planned.get(job.exp.id, 0) + 1
        print(f"lstmkit reproduce {args.target} --report-only: {sum(map(len, results.values()))} of "
              f"{sum(planned.values())} trials finished in {out}", flush=True)
    else:
        prepare_out(out)                   # a bad --out fails now, not after the first trial's compute
        print(f"lstmkit reproduce {args.target}{' --quick' if quick else ''}: {len(rows)} rows, output in "
              f"{out}", flush=True)
        results = run(rows, out, trials=args.trials, quick=quick, seed=seed, workers=args.workers,
                      scheduler=args.scheduler, save_models=args.save_models, progress=not args.no_progress)
    doc = report.build(rows, results, seed=seed, quick=quick, planned=planned)
    report.write(out, doc)
    if args.plots:
        report.plots(out, rows, results)
    print(report.tables(doc))
    print(f"wrote {out / 'results.json'} and {out / 'results.md'} ({time.perf_counter() - t0:.0f} s)")
    return 0
