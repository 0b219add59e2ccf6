"""Run the Greff et al. (2017) study's trials round-robin (trial k of every row, then k+1) for a wall budget.

    PYTHONPATH=src python scripts/greff2017-run.py --out /tmp/greff --minutes 25 [--quick]

Each finished trial is written at once to OUT/trials/<row id>/trial-<k>.json (atomically; a rerun with the
same OUT skips the trials already there), then OUT/results.md (the study's table), OUT/summary.json and
the figures under OUT/plots/. A stand-in for `lstmkit reproduce greff` until the runner runs studies: the
rows and their trials are the same ones it will run.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lstmkit._atomic import atomic_write_text
from lstmkit.experiments import greff2017 as G


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=25.0,
                    help="wall budget for new trials; the running round is finished; 0: only report what is stored")
    ap.add_argument("--max-trials", type=int, default=None, help="trials per row at most (default: the row's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    rows = [r.effective(a.quick) for r in G.ROWS if (r.quick.include or not a.quick)]
    cap = a.max_trials or max((r.quick.trials if a.quick else r.trials) for r in rows)
    t0 = time.perf_counter()
    results: dict[str, list[dict]] = {r.id: [] for r in rows}
    for k in range(cap):
        out_of_time = time.perf_counter() - t0 > 60 * a.minutes     # checked per round: rounds stay whole
        for r in rows:
            path = a.out / "trials" / r.id / f"trial-{k}.json"
            if path.exists():
                rec = json.loads(path.read_text())
                if rec.get("run") != {"seed": a.seed, "config": r.fingerprint()}:
                    raise SystemExit(f"{path} belongs to another run; use another --out")
            elif out_of_time:
                continue
            else:
                rec = r.run_trial(k, a.seed)
                rec["run"] = {"seed": a.seed, "config": r.fingerprint()}
                atomic_write_text(path, json.dumps(rec, indent=1))
                print(f"{time.perf_counter() - t0:7.1f}s {r.id} k={k} test_nll={rec['test_nll']:.3f} "
                      f"epochs={rec['epochs']} {rec['details']['stopped']} wall={rec['wall_s']:.1f}s "
                      f"H={rec['hyper']['blocks']} lr={rec['hyper']['lr']:.1e}", flush=True)
            results[r.id].append(rec)
    entries = [{"id": r.id, "experiment": r.experiment, "method": r.method, "setting": r.setting,
                "paper": r.paper.as_dict(), "trials": len(results[r.id]),
                "summary": G.summarize(r, results[r.id])} for r in rows]
    atomic_write_text(a.out / "summary.json", json.dumps(entries, indent=1))
    total = sum(t["wall_s"] for v in results.values() for t in v)
    imp = []
    for task in G.TASKS:
        shares = G.importance([t for r in rows if r.task == task for t in results[r.id]])
        if shares:
            imp.append(f"- {task}: " + ", ".join(f"{k} {v:.2f}" for k, v in shares.items()))
    atomic_write_text(a.out / "results.md", f"# {G.STUDY.title}\n\n{G.table(entries)}\n"
                      "Hyperparameter importance (share of the variance of test NLL over the search box, "
                      "finished trials of all variants pooled; `greff2017.importance`):\n\n" + "\n".join(imp) +
                      f"\n\nTrial wall time in total: {total:.0f} s; this invocation's wall time "
                      f"{time.perf_counter() - t0:.0f} s.\n")
    for p in G.plots(a.out, rows, results):
        print("wrote", p)
    print((a.out / "results.md").read_text())


if __name__ == "__main__":
    main()
