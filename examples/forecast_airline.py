"""Forecasting the airline passengers series (Box & Jenkins, monthly 1949-1960) a year ahead.

    pip install 'lstmkit[examples]'       # the data file comes from the sktime package (no download)
    python examples/forecast_airline.py   # five seeds, about a minute on 2 cores

Runs ``lstmkit train forecast`` on sktime's Airline.csv: windows of 24 months, horizon 12 (every window
forecasts the next 12 months), the last 20% of the months (29) held out in time order, normalisation
fitted on the training months, early stopping, the modern LSTM (32 units) with Adam, float32, the
default ``target_mode="delta"`` (the network predicts changes from the last observed month, so the
trend past the training range is not a problem for its squashing functions). The seasonal period (12)
comes from the monthly dates. Prints RMSE and MAE on the held-out windows for each seed, their mean
and spread, and the persistence and seasonal-naive baselines on the same windows.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from example_data import airline_csv

from lstmkit.cli import main


def run(out: Path, seeds: list[int], horizon: int = 12, window: int = 24) -> dict:
    results = []
    for seed in seeds:
        run_dir = out / f"seed{seed}"
        if not (run_dir / "summary.json").is_file():
            if run_dir.exists():
                assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
            else:
                assert main(["train", "forecast", "--data", str(airline_csv()), "--target", "Passengers",
                             "--date", "Date", "--window", str(window), "--horizon", str(horizon),
                             "--seed", str(seed), "--out", str(run_dir), "--quiet"]) == 0
        results.append(json.loads((run_dir / "summary.json").read_text()))
    main(["plot", str(out / f"seed{seeds[0]}")])
    main(["inspect", str(out / f"seed{seeds[0]}"), "--input", str(airline_csv())])
    rmse = [r["validation"]["rmse"] for r in results]
    mae = [r["validation"]["mae"] for r in results]
    b = results[0]["baselines"]
    table = {"lstm_rmse": rmse, "lstm_mae": mae,
             "lstm_rmse_mean": statistics.mean(rmse), "lstm_rmse_sd": statistics.stdev(rmse) if len(rmse) > 1 else 0.0,
             "lstm_mae_mean": statistics.mean(mae), "lstm_mae_sd": statistics.stdev(mae) if len(mae) > 1 else 0.0,
             "persistence": b["persistence"], "seasonal_naive": b["seasonal_naive"],
             "val_windows": results[0]["validation"]["samples"]}
    (out / "results.json").write_text(json.dumps(table, indent=2) + "\n")
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/examples/forecast_airline"))
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    t = run(a.out, list(range(a.seeds)))
    print(f"\nheld-out windows: {t['val_windows']}, horizon 12 (RMSE / MAE in thousands of passengers)")
    for s, (r, m) in enumerate(zip(t["lstm_rmse"], t["lstm_mae"])):
        print(f"  LSTM seed {s}          {r:8.2f} {m:8.2f}")
    print(f"  LSTM mean +- sd      {t['lstm_rmse_mean']:8.2f} {t['lstm_mae_mean']:8.2f}   "
          f"(sd {t['lstm_rmse_sd']:.2f} / {t['lstm_mae_sd']:.2f})")
    print(f"  persistence          {t['persistence']['rmse']:8.2f} {t['persistence']['mae']:8.2f}")
    print(f"  seasonal naive (12)  {t['seasonal_naive']['rmse']:8.2f} {t['seasonal_naive']['mae']:8.2f}")
