"""lstmkit: Long Short-Term Memory (Hochreiter & Schmidhuber 1997) and its descendants.

The public surface:

    LSTM, Readout, Network        recurrent stacks, output units, whole nets (lstmkit.network)
    CELLS                         cell families: "lstm1997", "lstm" (forget gate, peepholes, Greff variants), "rnn"
    ALGORITHMS                    bptt, tbptt, rtrl1997 (the paper's rule), rtrl, elman, guess
    OPTIMIZERS, LOSSES            sgd, momentum, adam; half_sse, cross_entropy, binary_cross_entropy
    ACTIVATIONS                   the squashing functions, the paper's g and h among them
    save, load                    networks to and from a directory (weights + JSON config)
    interop                       from_torch / to_torch (imported on use; needs torch)
"""
from __future__ import annotations

from .activations import ACTIVATIONS
from .cells import CELLS
from .estimators import LSTMClassifier, LSTMForecaster, LSTMRegressor
from .io import load, save
from .learn import ALGORITHMS, OPTIMIZERS
from .losses import LOSSES
from .network import LSTM, Network, Readout

__version__ = "0.1.0"

__all__ = ["ALGORITHMS", "ACTIVATIONS", "CELLS", "LOSSES", "LSTM", "Network", "OPTIMIZERS", "Readout", "load", "save",
           "__version__", "LSTMClassifier", "LSTMForecaster", "LSTMRegressor"]
