"""``lstmkit plot RUN_DIR``: learning curves of a run as a PNG (train/validation loss, the task metric vs baselines)."""
from __future__ import annotations

import argparse

from . import command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of lstmkit train")
    p.add_argument("--out", metavar="FILE.png", help="where to write the figure (default RUN_DIR/learning_curves.png)")


@command("plot", "draw the learning curves of a training run (PNG)", _args)
def plot(args) -> int:
    from .._atomic import check_file_target
    from ..plots import learning_curves
    from ..runs import Run

    run = Run.open(args.run_dir)
    out = args.out or str(run.path / "learning_curves.png")
    check_file_target(out, "--out")
    learning_curves(run.metrics(), run.task, out, run.summary(), title=f"{run.task}: {run.path.name}")
    print(out)
    return 0
