"""Squashing functions, each next to its derivative written through its output.

The 1997 paper's functions (eqs. 3-5), with sigma the logistic function:

    f(x) = sigma(x)          range [0, 1]    f' = y (1 - y)          gates, output units
    h(x) = 2 sigma(x) - 1    range [-1, 1]   h' = (1 - y^2) / 2      cell output squashing ("h1")
    g(x) = 4 sigma(x) - 2    range [-2, 2]   g' = 1 - y^2 / 4        cell input squashing ("g2")

(h = tanh(x/2) and g = 2 tanh(x/2); the derivatives follow from sigma' = sigma (1 - sigma) with
sigma = (y + 1)/2 resp. (y + 2)/4.)  Table 10's caption swaps the two ranges; the body text and the
appendix do not, and neither does this module.

Kernels select a function by a small integer code (``ACTIVATIONS[name].code``) so that one compiled
loop serves every choice; ``apply(code, x)`` and ``deriv(code, y)`` are the scalar forms Numba inlines.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._numba import njit

IDENTITY, LOGISTIC, TANH, G2, H1 = 0, 1, 2, 3, 4


@njit(inline="always")
def _sigmoid(x):
    # Two branches keep exp's argument <= 0: no overflow warnings and full precision in both tails.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(inline="always")
def apply(code, x):
    """y = act(x) for the activation with the given code."""
    if code == LOGISTIC:
        return _sigmoid(x)
    if code == TANH:
        return math.tanh(x)
    if code == G2:
        return 4.0 * _sigmoid(x) - 2.0
    if code == H1:
        return 2.0 * _sigmoid(x) - 1.0
    return x


@njit(inline="always")
def deriv(code, y):
    """act'(x) written through the output y = act(x)."""
    if code == LOGISTIC:
        return y * (1.0 - y)
    if code == TANH:
        return 1.0 - y * y
    if code == G2:
        return 1.0 - 0.25 * y * y
    if code == H1:
        return 0.5 * (1.0 - y * y)
    return 1.0 + 0.0 * y


@dataclass(frozen=True)
class Activation:
    """A named squashing function: ``code`` for kernels, NumPy forms for everything else."""

    name: str
    code: int
    range: tuple[float, float]
    doc: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return _NUMPY_FORWARD[self.code](np.asarray(x))

    def deriv_from_output(self, y: np.ndarray) -> np.ndarray:
        return _NUMPY_DERIV[self.code](np.asarray(y))


def _np_sigmoid(x):
    # scipy.special.expit is exact in both tails and vectorised.
    from scipy.special import expit

    return expit(x)


_NUMPY_FORWARD = {
    IDENTITY: lambda x: x.copy(),
    LOGISTIC: _np_sigmoid,
    TANH: np.tanh,
    G2: lambda x: 4.0 * _np_sigmoid(x) - 2.0,
    H1: lambda x: 2.0 * _np_sigmoid(x) - 1.0,
}
_NUMPY_DERIV = {
    IDENTITY: lambda y: np.ones_like(y),
    LOGISTIC: lambda y: y * (1.0 - y),
    TANH: lambda y: 1.0 - y * y,
    G2: lambda y: 1.0 - 0.25 * y * y,
    H1: lambda y: 0.5 * (1.0 - y * y),
}

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", IDENTITY, (-math.inf, math.inf), "y = x"),
        Activation("logistic", LOGISTIC, (0.0, 1.0), "y = 1/(1+exp(-x)) (the paper's f)"),
        Activation("tanh", TANH, (-1.0, 1.0), "y = tanh(x)"),
        Activation("g2", G2, (-2.0, 2.0), "y = 4 sigma(x) - 2 (the paper's g, cell input)"),
        Activation("h1", H1, (-1.0, 1.0), "y = 2 sigma(x) - 1 (the paper's h, cell output)"),
    )
}
# Aliases people type.
_ALIASES = {"sigmoid": "logistic", "linear": "identity", "id": "identity", "g": "g2", "h": "h1"}


def get(name: str) -> Activation:
    """Look an activation up by name; unknown names raise a ValueError listing the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"activation: expected a name (str) such as 'tanh', got {type(name).__name__}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in ACTIVATIONS:
        known = ", ".join(sorted([*ACTIVATIONS, *_ALIASES]))
        raise ValueError(f"activation: unknown name {name!r}; expected one of: {known}")
    return ACTIVATIONS[key]
