"""Where a reproduction trial's time goes: training, data, the stopping criteria, the tests they ask for.

    python benchmarks/bench_trial_time.py                 # trial 0 of every quick row, quick budgets
    python benchmarks/bench_trial_time.py 1-5 4-1 6a      # chosen rows (their quick budgets)
    python benchmarks/bench_trial_time.py --from DIR      # the trial files of a finished run (any budgets)

Each trial record carries ``time_s`` (``lstmkit.experiments.trial``): wall seconds in ``data`` (drawing the
training sequences), ``train`` (the learner), ``criteria`` (the task's per-sequence criteria and the stopping
rule), ``checks`` (the tests the rule asks for), ``final_test`` and ``other``. The column the speed issue
asks for is **checks share** = (criteria + checks + final_test) / wall, goal <= 10 % on every row.

Rows are run one after another in this process, on one core each (as ``run_trial`` pins itself), after a
short warm-up of the same row so that compiling the kernels is not counted. Wall time, so run it on a
quiet machine; ``--from`` only reads. Writes its table to RESULTS.md between this benchmark's markers.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from _machine import cpu_line  # benchmarks/, on sys.path when run as a script
from _results import write_section

from lstmkit.experiments import EXPERIMENTS
from lstmkit.experiments.configs import select
from lstmkit.experiments.trial import CHUNK, run_trial

PARTS = ("train", "data", "criteria", "checks", "final_test", "other")
GOAL = 0.10


def measure(ids: list[str]) -> list[dict]:
    out = []
    for i, rid in enumerate(ids):
        exp = EXPERIMENTS[rid].effective(True)
        run_trial(dataclasses.replace(exp, max_sequences=min(exp.max_sequences, 2 * CHUNK)), 0)   # compile
        rec = run_trial(exp, 0)
        out.append(rec)
        print(f"[{i + 1}/{len(ids)}] {_line(rec)}", flush=True)
    return out


def from_dir(d: Path) -> list[dict]:
    recs = []
    for f in sorted((d / "trials").glob("*/trial-*.json")):
        rec = json.loads(f.read_text())
        if "time_s" in rec:
            recs.append(rec)
    if not recs:
        raise SystemExit(f"{d}: no trial file with time_s (runs before this benchmark existed keep none)")
    return recs


def _share(rec: dict) -> float:
    t = rec["time_s"]
    return (t["criteria"] + t["checks"] + t["final_test"]) / max(rec["wall_s"], 1e-9)


def _line(rec: dict) -> str:
    return f"{rec['id']} #{rec['trial']}: {rec['wall_s']:.2f} s, checks share {100 * _share(rec):.1f} %"


def table(recs: list[dict]) -> str:
    head = ("| row | method | sequences | wall s | " + " | ".join(f"{p} %" for p in PARTS)
            + " | **checks share** |\n|---|---|---|---|" + "---|" * len(PARTS) + "---|")
    lines = [head]
    for r in recs:
        t, w = r["time_s"], max(r["wall_s"], 1e-9)
        share = _share(r)
        mark = "" if share <= GOAL else f" (> {GOAL:.0%})"
        lines.append(f"| {r['id']} | {EXPERIMENTS[r['id']].method} | {r['sequences']:,} | {r['wall_s']:.2f} | "
                     + " | ".join(f"{100 * t[p] / w:.1f}" for p in PARTS) + f" | **{100 * share:.1f}**{mark} |")
    over = list(dict.fromkeys(r["id"] for r in recs if _share(r) > GOAL))
    lines.append("")
    lines.append(f"Rows over the {GOAL:.0%} goal: {', '.join(over) if over else 'none'}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="*", help="row ids (default: every row of the quick set)")
    ap.add_argument("--from", dest="src", metavar="DIR", help="read the trial files of a finished run instead")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md as it is")
    a = ap.parse_args()
    if a.src:
        recs, how = from_dir(Path(a.src)), f"the trial files of `{a.src}`"
    else:
        ids = a.rows or [e.id for e in select("all", quick=True)]
        recs, how = measure(ids), "trial 0 of each row at its quick budget, one after another on one core"
    text = (f"## Where a trial's time goes\n\n`python benchmarks/bench_trial_time.py` on "
            f"{time.strftime('%Y-%m-%d %H:%M')}, {cpu_line()}; {how}. Percentages of each trial's wall time; "
            f"checks share = criteria + checks + final test (goal <= {GOAL:.0%}).\n\n{table(recs)}\n")
    print(text)
    if not a.no_write and not a.rows:
        print(f"wrote {write_section('bench_trial_time', text)}")


if __name__ == "__main__":
    main()
