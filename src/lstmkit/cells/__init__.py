"""Registry of recurrent cell families: ``CELLS[name]`` is a :class:`Cell` subclass.

The network, the CLI, the docs and the parametrised tests all enumerate this registry, so a new cell
is one new file plus one line here.
"""
from __future__ import annotations

from .base import Cell
from .lstm import LSTMCell
from .lstm1997 import LSTM1997Cell
from .rnn import RNNCell

CELLS: dict[str, type[Cell]] = {c.name: c for c in (LSTM1997Cell, LSTMCell, RNNCell)}


def get_cell(name: str) -> type[Cell]:
    if not isinstance(name, str) or name not in CELLS:
        raise ValueError(
            f"cell: unknown cell {name!r}; expected one of {', '.join(CELLS)} "
            f"(see lstmkit.CELLS)"
        )
    return CELLS[name]


__all__ = ["CELLS", "Cell", "get_cell", "LSTMCell", "LSTM1997Cell", "RNNCell"]
