"""The 1997 paper's experiments as sequence generators with their success criteria.

``TASKS`` maps each name to a default task object (the paper's first setting of that experiment);
``get_task(name, **settings)`` returns one with some settings changed, e.g.
``get_task("adding", T=1000)``. The same is ``TASKS["adding"].with_params(T=1000)``. A setting must
exist and keep its type; invalid values raise ValueError. The contract (``Task``, ``Batch``) is in
``lstmkit.tasks.base``.

=====================  ====  ===================================  ====================  ======
name                   exp.  settings (defaults)                   inputs -> outputs     beta
=====================  ====  ===================================  ====================  ======
embedded_reber         1     (none)                                7 -> 7 (B T P S X V E) see text
long_lag_a             2a    p=100, target_steps="all"             p+1 -> p+1            0.25
long_lag_b             2b    p=100, target_steps="all"             p+1 -> p+1            0.25
long_lag_c             2c    q=100, p=100, continue_prob=0.9       p+4 -> 2              0.2
two_sequence_a         3a    T=100, N=3                            1 -> 1                0.2
two_sequence_b         3b    T=100, N=3                            1 -> 1                0.2
two_sequence_c         3c    T=100, N=3                            1 -> 1                0.1
adding                 4     T=100                                 2 -> 1                0.04
multiplication         5     T=100                                 2 -> 1                0.04
temporal_order_a       6a    lengths 100..110, t1, t2 ranges       8 -> 4                0.3
temporal_order_b       6b    lengths 100..110, t1, t2, t3 ranges   8 -> 8                0.3
parity                 -     lengths 500..600, noise=0.0           1 -> 1                0.1
msd                    G02   F=10, i_max=1, intervals=10           1 -> 1 (linear)       0.49
nmsd                   G02   F=10, i_max=1, intervals=1            1 -> 1 (linear)       0.49
spike_50_49            G02   F=49, i_max=1, intervals=4            1 -> 1 (linear)       0.49
gts                    G02   F=10, periods=10                      1 (zero) -> 1         0.49
pfg                    G02   F=10, periods=10, shape="cos"         1 (zero) -> 1 (lin.)  0.3
=====================  ====  ===================================  ====================  ======

G02: Gers, Schraudolph & Schmidhuber (2002), timing and counting (``lstmkit.tasks.timing``; their
``experiment`` is "gers2002").

Example:

>>> from lstmkit.tasks import TASKS, get_task
>>> sorted(TASKS)[:2]
['adding', 'embedded_reber']
>>> get_task("long_lag_c", q=1000, p=50)
LongLagC(q=1000, p=50, continue_prob=0.9)
>>> get_task("adding", T=500).input_names
('value', 'marker')
"""
from __future__ import annotations

import difflib

from .adding import Adding
from .base import Batch, Task
from .long_lag import LongLagA, LongLagB, LongLagC
from .multiplication import Multiplication
from .parity import Parity
from .reber import EmbeddedReber
from .temporal_order import TemporalOrderA, TemporalOrderB
from .timing import (GenerateTimedSpikes, MeasureSpikeDelays, NonContinualSpikeDelays, PeriodicFunction,
                     SpikeDiscrimination)
from .two_sequence import TwoSequenceA, TwoSequenceB, TwoSequenceC

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        EmbeddedReber(),
        LongLagA(), LongLagB(), LongLagC(),
        TwoSequenceA(), TwoSequenceB(), TwoSequenceC(),
        Adding(),
        Multiplication(),
        TemporalOrderA(), TemporalOrderB(),
        Parity(),
        MeasureSpikeDelays(), NonContinualSpikeDelays(), SpikeDiscrimination(),
        GenerateTimedSpikes(), PeriodicFunction(),
    )
}


def get_task(name: str, **settings) -> Task:
    """The task registered under ``name``, with ``settings`` overriding its defaults."""
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), TASKS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"name: unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}{hint}")
    return TASKS[name].with_params(**settings) if settings else TASKS[name]


__all__ = ["TASKS", "Batch", "Task", "get_task"]
