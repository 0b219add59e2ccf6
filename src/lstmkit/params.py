"""Named parameter arrays that live in one contiguous buffer.

Every module (a recurrent layer, a readout, a whole network) keeps its weights as views into one flat
vector ``flat`` and its gradients as views into ``grad_flat`` of the same layout. Optimisers update the
flat vector in one call, checkpoints write one array, and ``params[name]`` / ``grads[name]`` stay
readable. A parent module adopts its children's sets with :meth:`ParamSet.concat`, which copies the
values into a new buffer and rebinds every child to views of it.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from math import prod

import numpy as np


class ParamSet:
    """An ordered set of named arrays stored back to back in ``flat`` (and ``grad_flat``).

    >>> p = ParamSet({"W": (2, 3), "b": (2,)}, dtype="float64")
    >>> p.flat.shape, p["W"].shape
    ((8,), (2, 3))
    >>> p["W"][:] = 1.0; float(p.flat.sum())
    6.0
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]], dtype="float64"):
        self.dtype = np.dtype(dtype)
        self.shapes = {k: tuple(int(d) for d in s) for k, s in shapes.items()}
        n = sum(prod(s) for s in self.shapes.values())
        self.flat = np.zeros(n, dtype=self.dtype)        # (W,) all weights
        self.grad_flat = np.zeros(n, dtype=self.dtype)   # (W,) their gradients, same layout
        self._children: list[tuple[int, ParamSet]] = []  # sets adopted by concat, at their offsets
        self._bind()

    def _rebind(self, flat: np.ndarray, grad_flat: np.ndarray) -> None:
        """Point this set, and recursively the sets it adopted, at new buffers of the same layout."""
        self.flat, self.grad_flat = flat, grad_flat
        self._bind()
        for at, child in self._children:
            child._rebind(flat[at : at + child.size], grad_flat[at : at + child.size])

    def _bind(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.slices: dict[str, slice] = {}
        at = 0
        for name, shape in self.shapes.items():
            n = prod(shape)
            self.slices[name] = slice(at, at + n)
            self.params[name] = self.flat[at : at + n].reshape(shape)
            self.grads[name] = self.grad_flat[at : at + n].reshape(shape)
            at += n

    # ---------------------------------------------------------------- dict-like access
    def __getitem__(self, name: str) -> np.ndarray:
        return self.params[name]

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def size(self) -> int:
        """Number of scalar weights W."""
        return self.flat.size

    def zero_grad(self) -> None:
        self.grad_flat[...] = 0.0

    # ---------------------------------------------------------------- composition
    @staticmethod
    def concat(children: Iterable[tuple[str, "ParamSet"]], dtype=None) -> "ParamSet":
        """One buffer holding every child's arrays under ``prefix + name``; children are rebound.

        After the call each child's ``flat``/``params`` are views into the parent's buffer, so an
        update through either is seen by both; this holds recursively for the sets a child adopted
        itself (a network's layers' cells).
        """
        children = list(children)
        if dtype is None:
            dtype = children[0][1].dtype if children else np.float64
        shapes = {}
        for prefix, child in children:
            for name, shape in child.shapes.items():
                key = prefix + name
                if key in shapes:
                    raise ValueError(f"ParamSet.concat: duplicate parameter name {key!r}")
                shapes[key] = shape
        parent = ParamSet(shapes, dtype=dtype)
        at = 0
        for _, child in children:
            n = child.size
            parent.flat[at : at + n] = child.flat
            parent.grad_flat[at : at + n] = child.grad_flat
            child._rebind(parent.flat[at : at + n], parent.grad_flat[at : at + n])
            parent._children.append((at, child))
            at += n
        return parent

    def astype(self, dtype) -> "ParamSet":
        out = ParamSet(self.shapes, dtype=dtype)
        out.flat[...] = self.flat
        return out
