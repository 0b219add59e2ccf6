"""Training on one's own sequences: forecasting, character-level text, sequence classification.

``config``    frozen dataclasses per task, resolved from defaults < TOML file < flags
``trainer``   the epoch loop: guarded weight steps, early stopping, checkpoints, exact resume
``forecast``, ``text``, ``classify``   the tasks: batches, evaluation, baselines, summaries
``session``   one run from a config to a finished run directory (what ``lstmkit train`` calls)
"""
from .config import ALGORITHMS_BY_TASK, TASKS, ClassifyConfig, ForecastConfig, TextConfig, resolve
from .trainer import Diverged, fit

__all__ = ["ALGORITHMS_BY_TASK", "ClassifyConfig", "Diverged", "ForecastConfig", "TASKS", "TextConfig", "fit",
           "resolve"]
