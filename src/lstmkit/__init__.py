"""lstmkit: Long Short-Term Memory (Hochreiter & Schmidhuber 1997) and its descendants.

The public surface:

    LSTM, Readout, Network        recurrent stacks, output units, whole nets (lstmkit.network)
    CELLS                         cell families: "lstm1997", "lstm" (forget gate, peepholes, Greff variants), "rnn"
    TASKS                         the paper's experiments as sequence generators with success criteria
    EXPERIMENTS                   the paper's table rows as data (lstmkit reproduce runs them)
    ALGORITHMS                    bptt, tbptt, rtrl1997 (the paper's rule), rtrl, elman, guess
    OPTIMIZERS, LOSSES            sgd, momentum, adam; half_sse, cross_entropy, binary_cross_entropy
    ACTIVATIONS                   the squashing functions, the paper's g and h among them
    LSTMRegressor, LSTMForecaster, LSTMClassifier   scikit-learn estimators (loaded on use; need
                                  scikit-learn: pip install 'lstmkit[sklearn]')
    save, load                    networks to and from a directory (weights + JSON config)
    interop                       from_torch / to_torch (imported on use; needs torch), to_onnx (needs onnx)
"""
from __future__ import annotations

from .activations import ACTIVATIONS
from .cells import CELLS
from .experiments import EXPERIMENTS
from .io import load, save
from .learn import ALGORITHMS, OPTIMIZERS
from .losses import LOSSES
from .network import LSTM, Network, Readout
from .tasks import TASKS

__version__ = "0.1.0"

# The estimators are not in __all__: ``from lstmkit import *`` must not need scikit-learn.
__all__ = ["ACTIVATIONS", "ALGORITHMS", "CELLS", "EXPERIMENTS", "LOSSES", "LSTM", "Network", "OPTIMIZERS",
           "Readout", "TASKS", "__version__", "load", "save"]

_ESTIMATORS = ("LSTMClassifier", "LSTMForecaster", "LSTMRegressor")


def __getattr__(name: str):
    # scikit-learn is optional and slow to import: lstmkit.estimators (which imports it, or says how to
    # install it) loads on first use of an estimator
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ESTIMATORS))
