"""Finite-difference checks of hand-derived gradients (float64), as torch.autograd.gradcheck does.

Every gradient in lstmkit is tested with these: the analytic gradient of a scalar function of a flat
vector is compared with central differences,

    num_i = (f(w + eps e_i) - f(w - eps e_i)) / (2 eps),   rel = max|num - ana| / max(max|num| + max|ana|, tiny)

and ``rel`` must stay below 1e-6.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], w: np.ndarray, eps: float = 1e-6,
                       indices: np.ndarray | None = None) -> np.ndarray:
    """Central differences of ``f()`` w.r.t. the entries of ``w`` (perturbed in place, restored)."""
    if w.dtype != np.float64:
        raise TypeError(f"numerical_gradient: expected a float64 array, got {w.dtype}; check gradients in float64")
    if w.size == 0:
        return np.zeros(w.shape)
    flat = w.reshape(-1)
    if not np.shares_memory(flat, w):
        raise ValueError("numerical_gradient: w must be contiguous so that its flat view writes through")
    idx = np.arange(flat.size) if indices is None else np.asarray(indices)
    g = np.zeros(flat.size)
    for i in idx:
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g.reshape(w.shape)


def relative_error(num: np.ndarray, ana: np.ndarray) -> float:
    num, ana = np.asarray(num, dtype=float).ravel(), np.asarray(ana, dtype=float).ravel()
    scale = max(np.abs(num).max(initial=0.0) + np.abs(ana).max(initial=0.0), 1e-8)
    return float(np.abs(num - ana).max(initial=0.0) / scale)


def check_module(module, x, seed: int = 0, eps: float = 1e-6, state=None, lengths=None,
                 with_state_grad: bool = True, truncated: bool = False, max_weights: int | None = None) -> dict:
    """Check weight and input gradients of ``module.forward``/``backward`` with random projections.

    The scalar is L = sum(y * dy) + sum_k sum(stateT[k] * dstate[k]) for fixed random dy, dstate.
    Returns the relative errors {"weights": ..., "inputs": ..., "state0": ...}.
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    y, sT = module.forward(x, state=state, lengths=lengths)
    dy = rng.normal(size=y.shape)
    ds = tuple(rng.normal(size=s.shape) for s in sT) if with_state_grad else None
    state_in = None if state is None else tuple(np.array(s, dtype=np.float64) for s in state)

    def f():
        yy, ss = module.forward(x, state=state_in, lengths=lengths)
        val = float(np.sum(yy * dy))
        if ds is not None:
            val += sum(float(np.sum(a * b)) for a, b in zip(ss, ds))
        return val

    f()
    dx, ds0 = module.backward(dy, ds, truncated=truncated) if truncated else module.backward(dy, ds)
    ana_w = module.grad_flat.copy()
    idx = None
    if max_weights is not None and module.num_weights > max_weights:
        idx = rng.choice(module.num_weights, size=max_weights, replace=False)
    num_w = numerical_gradient(f, module.flat, eps, idx)
    sel = slice(None) if idx is None else idx
    if not np.any(ana_w[sel]) or not np.any(dx):
        # A check of zeros against zeros proves nothing: the weights may not be wired to the output.
        raise AssertionError("check_module: the analytic gradient is identically zero; nothing was checked")
    out = {"weights": relative_error(num_w[sel], ana_w[sel]),
           "inputs": relative_error(numerical_gradient(f, x, eps), dx)}
    if state_in is not None:
        out["state0"] = max(relative_error(numerical_gradient(f, s, eps), d) for s, d in zip(state_in, ds0))
    return out
