"""The numbers of docs/descendants-gers2000.md: each gers2000 row's trials k = 0, 1, ... (base seed 0) until its
time allowance (seconds) is spent, in one process; the paper's protocol plus our cap of 3 million training symbols
per trial (CNTO: 30,000 training streams). Usage: PYTHONPATH=src python scripts/gers2000_numbers.py OUT_DIR
"""
import dataclasses, json, sys, time
from pathlib import Path
import numpy as np
from lstmkit.experiments import gers2000 as G

ALLOW = {"gers2000-reset": 170, "gers2000-standard": 130, "gers2000-decay": 130, "gers2000-forget": 200,
         "gers2000-forget-alpha": 200, "gers2000-cnto-standard": 100, "gers2000-cnto-forget": 100}
BUDGET = {"max_symbols": 3_000_000}
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/g00")
OUT.mkdir(parents=True, exist_ok=True)
out = {}
best = {}
t_all = time.perf_counter()
for row in G.ROWS:
    r = dataclasses.replace(row, specialise=True, **BUDGET)
    if row.task == "cnto":
        r = dataclasses.replace(r, max_sequences=30_000)
    recs, t0, k = [], time.perf_counter(), 0
    while time.perf_counter() - t0 < ALLOW[row.id]:
        rec = r.run_trial(k, 0, keep_model=row.id in ("gers2000-standard", "gers2000-forget"))
        model = rec.pop("model", None)
        if model is not None and (row.id not in best or rec["test_mean_length"] > best[row.id][0]):
            best[row.id] = (rec["test_mean_length"], model, k)
        recs.append(rec)
        print(row.id, k, rec["category"], rec["sequences"], rec["test_mean_length"], rec["train_steps"], rec["wall_s"],
              flush=True)
        k += 1
    out[row.id] = {"row": {"max_sequences": r.max_sequences, "max_symbols": r.max_symbols}, "trials": recs,
                   "wall_s": time.perf_counter() - t0, "summary": G.summarize(r, recs)}
    json.dump(out, open(OUT / "numbers.json", "w"), indent=1)
entries = [{"id": row.id, "setting": row.setting, "paper": row.paper.as_dict(), "summary": out[row.id]["summary"]}
           for row in G.ROWS]
print(G.table(entries))
print("total wall", time.perf_counter() - t_all)
rows = {r.id: r for r in G.ROWS}
nets = [(f"{rows[i].setting} (trial {best[i][2]}, mean test length {best[i][0]:,.0f})", best[i][1], rows[i])
        for i in ("gers2000-standard", "gers2000-forget") if i in best]
print(G.cell_state_figure(OUT / "gers2000-cell-states.png", nets))
for i, (m, net, k) in best.items():
    net.save(OUT / f"best-{i}")
