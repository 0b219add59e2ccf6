"""Classifying Japanese Vowels utterances by speaker: 9 speakers, 12 cepstrum coefficients, 7-29 frames.

    pip install 'lstmkit[examples]'       # the .ts files come from the sktime package (no download)
    python examples/classify_vowels.py    # about two minutes on 2 cores

Two ways over the same code:

1. The command line. The official train and test parts (270 + 370 utterances) are written together
   as one ``.npz`` (keys x = all frames concatenated, lengths, y; see docs/USAGE.md) and
   ``lstmkit train classify`` holds out a stratified 20% for validation and early stopping; it reports
   accuracy and the confusion matrix next to the majority-class baseline.
2. The estimator. ``lstmkit.LSTMClassifier`` is fitted on the official training part only and scored
   on the official test part, the protocol of the UEA archive, so the figure compares with published
   ones (e.g. 1-NN with dynamic time warping: 0.95 to 0.97).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from example_data import japanese_vowels

import lstmkit
from lstmkit.cli import main


def run(out: Path, seed: int = 0) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    parts = japanese_vowels()
    xs = parts["train"][0] + parts["test"][0]
    ys = parts["train"][1] + parts["test"][1]
    data = out / "japanese_vowels.npz"
    np.savez(data, x=np.concatenate(xs), lengths=np.array([len(x) for x in xs]), y=np.array(ys))
    run_dir = out / "run"
    if not (run_dir / "summary.json").is_file():
        if run_dir.exists():
            assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
        else:
            assert main(["train", "classify", "--data", str(data), "--seed", str(seed), "--out", str(run_dir),
                         "--quiet"]) == 0
    main(["plot", str(run_dir)])
    main(["inspect", str(run_dir), "--input", str(data), "--index", "0"])
    cli = json.loads((run_dir / "summary.json").read_text())

    (xtr, ytr), (xte, yte) = parts["train"], parts["test"]
    clf = lstmkit.LSTMClassifier(hidden_size=64, seed=seed).fit(xtr, ytr)
    test_acc = clf.score(xte, yte)
    values, counts = np.unique(ytr, return_counts=True)
    majority = float(np.mean(np.array(yte) == values[counts.argmax()]))
    res = {"cli_val_accuracy": cli["validation"]["accuracy"], "cli_val_sequences": cli["validation"]["sequences"],
           "cli_majority_accuracy": cli["baselines"]["majority"]["accuracy"],
           "estimator_test_accuracy": test_acc, "estimator_test_majority": majority,
           "estimator_best_epoch": clf.best_epoch_, "test_sequences": len(yte)}
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/examples/classify_vowels"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    r = run(a.out, a.seed)
    print(f"\nCLI, stratified hold-out of {r['cli_val_sequences']}: accuracy {r['cli_val_accuracy']:.4f} "
          f"(majority class {r['cli_majority_accuracy']:.4f})")
    print(f"LSTMClassifier, official split (train 270, test {r['test_sequences']}): test accuracy "
          f"{r['estimator_test_accuracy']:.4f} (majority class {r['estimator_test_majority']:.4f})")
