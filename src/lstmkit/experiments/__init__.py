"""The paper's experiments as data, the trial runner and the "ours vs paper" report.

``EXPERIMENTS``  every table row (configs.py), keyed by the paper's Table 10 ids plus baseline and modern rows
``select``       rows for an id, an experiment ("4", "2c", "3") or "all"
``run``          run or resume their trials, here or on Dask (runner.py)
``run_trial``    one trial, a pure function of (row, trial index, seed) (trial.py)
``report``       results.json / results.md / tables (report.py)
``studies``      the descendants' studies (Gers 2000, Gers 2002, Greff 2017): rows with protocols of their own,
                 run by the same runner (study.py)
Stopping rules: ``lstmkit.experiments.stopping``. The command line is ``lstmkit reproduce``.
"""
from __future__ import annotations

from . import report
from .configs import EXPERIMENTS, Experiment, Net, Paper, Quick, experiment_groups, select
from .runner import run
from .study import Study, StudyRow, register, studies
from .trial import run_trial, trial_seed

__all__ = ["EXPERIMENTS", "Experiment", "Net", "Paper", "Quick", "Study", "StudyRow", "experiment_groups", "register",
           "report", "run", "run_trial", "select", "studies", "trial_seed"]
