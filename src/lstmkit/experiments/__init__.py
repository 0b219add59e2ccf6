"""The paper's experiments as data, the trial runner and the "ours vs paper" report.

``EXPERIMENTS``  every table row (configs.py), keyed by the paper's Table 10 ids plus baseline and modern rows
``select``       rows for an id, an experiment ("4", "2c", "3") or "all"
``run``          run or resume their trials, here or on Dask (runner.py)
``run_trial``    one trial, a pure function of (row, trial index, seed) (trial.py)
``report``       results.json / results.md / tables (report.py)
Stopping rules: ``lstmkit.experiments.stopping``. The command line is ``lstmkit reproduce``.
"""
from __future__ import annotations

from . import report
from .configs import EXPERIMENTS, Experiment, Net, Paper, Quick, experiment_groups, select
from .runner import run
from .trial import run_trial, trial_seed

__all__ = ["EXPERIMENTS", "Experiment", "Net", "Paper", "Quick", "experiment_groups", "report", "run", "run_trial",
           "select", "trial_seed"]
