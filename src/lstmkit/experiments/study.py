"""Studies beside the 1997 tables: the descendants' experiments, run by the same runner.

A *study* is a named group of rows with a protocol of its own: Gers et al. (2000) train on continual
streams, Gers et al. (2002) on timing tasks, Greff et al. (2017) run a random search per variant. Its
rows go through ``runner.run`` like the paper's (Dask, resume, quick mode, one atomic file per trial,
``--report-only``); the study supplies what differs: each row's trial, the summary of its trials and
its table beside the paper's numbers.

A row is a frozen dataclass that mixes in :class:`StudyRow` and has the fields::

    id: str           # unique over every registry ("gers2000-forget", ...)
    experiment: str   # the study's name: `lstmkit reproduce gers2000` selects its rows
    method: str       # short name of the learner, shown in --list and the tables
    setting: str      # human-readable setting
    trials: int       # the paper's number of trials (or ours, stated in notes)
    quick: Quick      # the quick set: include, trials, and a budget cap (max_sequences)
    paper: ...        # what the paper reports; any object with as_dict() -> dict
    notes: str        # choices and departures from the paper

and a method ``run_trial(k, base_seed=0, keep_model=False) -> dict``: a pure function of (row, k, base_seed),
every random number from ``trial_seed(base_seed, row.id, k)``. The record holds at least::

    "seed": int, "solved": bool, "sequences": int >= 0 (the row's unit of training: streams, epochs),
    "wall_s": float, "details": dict

plus the fields its study's ``summarize`` reads, named with their types in the row's ``record_fields`` (a
stored record without them counts as damaged and the trial runs again). With ``keep_model`` the record may
carry the final network under "model" (the runner saves it and removes the key).
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .trial import trial_seed

COMMON_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("solved", (bool,)), ("sequences", (int,)), ("wall_s", (int, float)), ("details", (dict,)))


class StudyRow:
    """Mixin of a study's row dataclass: the quick budget, the resume fingerprint, the record fields."""

    record_fields: tuple[tuple[str, tuple[type, ...]], ...] = ()   # beyond COMMON_FIELDS
    volatile: tuple[str, ...] = ("trials", "paper", "quick", "notes", "setting")   # not in the fingerprint

    def effective(self, quick: bool):
        """The row as ``--quick`` runs it: ``max_sequences`` capped at ``quick.max_sequences``."""
        cap = getattr(self.quick, "max_sequences", None)
        if quick and cap is not None and hasattr(self, "max_sequences"):
            return dataclasses.replace(self, max_sequences=min(self.max_sequences, cap))
        return self

    def fingerprint(self) -> str:
        """Hash of everything that determines a trial's result (not the trial count): guards resumes."""
        d = dataclasses.asdict(self)
        for key in self.volatile:
            d.pop(key, None)
        return hashlib.sha256(repr(sorted(d.items())).encode()).hexdigest()[:16]

    def seed(self, k: int, base_seed: int = 0) -> int:
        """The 63-bit seed of trial k: everything random in it derives from this."""
        return trial_seed(base_seed, self.id, k)


@dataclass(frozen=True)
class Study:
    """A named group of rows and how to report them.

    ``summarize(row, trials) -> dict`` is the row's summary in results.json (it must hold "trials" and
    "solved"); ``table(entries) -> str`` the markdown table of the study's rows, each entry
    ``{"id", "experiment", "method", "setting", "paper", "trials", "summary"}`` as in results.json;
    ``plots(out, rows, results) -> [paths]`` writes its figures under ``out/plots`` (None: no figures).
    """

    name: str                                      # "gers2000": what `lstmkit reproduce NAME` selects
    title: str                                     # heading of its tables
    rows: tuple = ()
    summarize: Callable[[Any, list[dict]], dict] | None = None
    table: Callable[[list[dict]], str] | None = None
    plots: Callable[[Path, Sequence[Any], dict[str, list[dict]]], list[Path]] | None = None
    reference: str = ""                            # the paper, as cited in the tables

    def __post_init__(self):
        for row in self.rows:
            if row.experiment != self.name:
                raise ValueError(f"study {self.name}: row {row.id} says experiment={row.experiment!r}")


STUDIES: dict[str, Study] = {}
# The modules that register a study when imported, in the order their tables print.
STUDY_MODULES: tuple[str, ...] = ("gers2000", "gers2002", "greff2017")
DESCENDANTS = "descendants"                       # `lstmkit reproduce descendants`: every study


def register(study: Study) -> Study:
    if study.name in STUDIES:
        raise ValueError(f"duplicate study {study.name!r}")
    ids = [r.id for s in STUDIES.values() for r in s.rows]
    for row in study.rows:
        if row.id in ids:
            raise ValueError(f"study {study.name}: duplicate row id {row.id!r}")
        ids.append(row.id)
    STUDIES[study.name] = study
    return study


def studies() -> dict[str, Study]:
    """Every registered study (their modules imported on first use: importing lstmkit stays cheap)."""
    import importlib

    for name in STUDY_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return STUDIES


def study_of(row) -> Study | None:
    """The study a row belongs to, or None for a row of the 1997 paper."""
    if not isinstance(row, StudyRow):
        return None
    return studies()[row.experiment]


def rows_by_id() -> dict[str, Any]:
    return {r.id: r for s in studies().values() for r in s.rows}


__all__ = ["COMMON_FIELDS", "DESCENDANTS", "STUDIES", "Study", "StudyRow", "register", "rows_by_id", "studies",
           "study_of"]
