"""Optimisers that update one flat weight vector in place from one flat gradient vector.

    sgd        w <- w - lr g                                     (the paper's rule: plain, online)
    momentum   v <- mu v + g;  w <- w - lr v    (nesterov: w <- w - lr (g + mu v))
    adam       m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
               w <- w - lr m_hat / (sqrt(v_hat) + eps)           (Kingma & Ba 2015)

Clipping is applied to the gradient before the step: ``clip_norm`` rescales g to at most that
global L2 norm (Pascanu et al. 2013); ``clip_value`` clamps each entry. Every optimiser exposes
``state_dict()`` / ``load_state_dict()`` so checkpoints resume exactly.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as V


def clip_gradient(g: np.ndarray, clip_norm: float | None = None, clip_value: float | None = None) -> float:
    """Clip g in place; return its L2 norm before clipping."""
    norm = float(np.sqrt(np.dot(g, g)))
    if clip_value is not None:
        np.clip(g, -clip_value, clip_value, out=g)
    if clip_norm is not None and norm > clip_norm:
        g *= clip_norm / norm
    return norm


class Optimizer:
    name = ""

    def __init__(self, lr: float, clip_norm: float | None = None, clip_value: float | None = None):
        self.lr = V.positive_float("lr", lr)
        self.clip_norm = None if clip_norm is None else V.positive_float("clip_norm", clip_norm)
        self.clip_value = None if clip_value is None else V.positive_float("clip_value", clip_value)
        self.steps = 0

    def step(self, w: np.ndarray, g: np.ndarray) -> float:
        """Update w in place from g (g may be clipped in place); return the gradient norm."""
        norm = clip_gradient(g, self.clip_norm, self.clip_value)
        self.steps += 1
        self._update(w, g)
        return norm

    def _update(self, w, g):
        w -= self.lr * g

    def state_dict(self) -> dict:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])


class SGD(Optimizer):
    name = "sgd"


class Momentum(Optimizer):
    name = "momentum"

    def __init__(self, lr, momentum: float = 0.9, nesterov: bool = False, **kw):
        super().__init__(lr, **kw)
        self.momentum, self.nesterov, self.v = float(momentum), bool(nesterov), None

    def _update(self, w, g):
        if self.v is None:
            self.v = np.zeros_like(w)
        self.v *= self.momentum
        self.v += g
        w -= self.lr * (g + self.momentum * self.v if self.nesterov else self.v)

    def state_dict(self):
        return {**super().state_dict(), "v": None if self.v is None else self.v.copy()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.v = None if state.get("v") is None else np.array(state["v"])


class Adam(Optimizer):
    name = "adam"

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kw):
        super().__init__(lr, **kw)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = self.v = None

    def _update(self, w, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        b1, b2, t = self.beta1, self.beta2, self.steps
        self.m *= b1
        self.m += (1 - b1) * g
        self.v *= b2
        self.v += (1 - b2) * g * g
        m_hat = self.m / (1 - b1**t)
        v_hat = self.v / (1 - b2**t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def state_dict(self):
        return {**super().state_dict(), "m": None if self.m is None else self.m.copy(),
                "v": None if self.v is None else self.v.copy()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.m = None if state.get("m") is None else np.array(state["m"])
        self.v = None if state.get("v") is None else np.array(state["v"])


OPTIMIZERS: dict[str, type[Optimizer]] = {c.name: c for c in (SGD, Momentum, Adam)}


def make_optimizer(name: str, **kwargs) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown name {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[name](**kwargs)
    except TypeError as e:
        raise TypeError(f"optimizer {name!r}: {e}") from None
