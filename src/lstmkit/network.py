"""Recurrent stacks, readouts and whole networks, each keeping its weights in one flat buffer.

``LSTM``  a stack of recurrent layers (any cell of :data:`lstmkit.CELLS`), uni- or bidirectional,
          variable-length batches; the public layer API mirrors the old Torch ``nn`` modules:
          ``y, state = net.forward(x)`` then ``dx, dstate0 = net.backward(dy)``.
``Readout`` per-step output units y = f(h W^T + b) with f linear, logistic or softmax, as the
          paper's output layer (it reads the *current* cell outputs, Section 5's order).
``Network`` an ``LSTM`` followed by a ``Readout``: the nets of the paper and of ordinary use.

Shapes: x (T, B, I) time-major inside (``batch_first=True`` accepts (B, T, I) at the edge); a 2-D x
is one unbatched sequence (T, I).  y (T, B, D*F) where D = 2 if bidirectional else 1 and F is the
cell's output size.  The state is a tuple with one array per cell state name (("h", "c") for the
LSTM), each (D*num_layers, B, size), indexed layer-major as PyTorch: index = layer*D + direction.

Variable lengths: pass ``lengths`` (B,) or a (T, B) ``mask`` whose True entries are a prefix. Past a
sequence's end the state is frozen and the output is zero; the reverse direction reads each sequence
backwards from its own last real step, exactly like ``torch.nn.utils.rnn.pack_padded_sequence``.
"""
from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from . import _validate as V
from . import activations as act
from .cells import get_cell
from .params import ParamSet


def _reverse_index(lengths: np.ndarray, T: int) -> np.ndarray:
    """(T, B) time index that reverses each sequence within its length (an involution)."""
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _gather_time(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[idx[t, b], b, ...] for a (T, B, ...) array."""
    return np.ascontiguousarray(np.take_along_axis(a, idx.reshape(idx.shape + (1,) * (a.ndim - 2)), axis=0))


class Module:
    """Shared plumbing: the ParamSet, gradients, weight counts, save, training mode.

    Modules start in evaluation mode (``training=False``), unlike torch's: a loaded model predicts
    without noise. ``train(rng=...)`` makes dropout and zoneout draw their masks from ``rng``, the
    trainers' own seeded Generator, so that a run resumed from a checkpoint draws the same masks.
    """

    _params: ParamSet
    training: bool = False

    def train(self, mode: bool = True, rng: np.random.Generator | None = None):
        """Training mode on (``mode=True``) or off; ``rng`` draws the noise (default: seeded from 0)."""
        self.training = bool(mode)
        if mode and rng is not None:
            self._noise_rng = rng
        elif mode and getattr(self, "_noise_rng", None) is None:
            self._noise_rng = np.random.default_rng(0)
        for child in self._children():
            child.train(mode, rng=getattr(self, "_noise_rng", None) if mode else None)
        return self

    def eval(self):
        """Evaluation mode: no dropout masks, zoneout at its expectation."""
        return self.train(False)

    def _children(self) -> tuple["Module", ...]:
        return ()

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._params.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self._params.grads

    @property
    def flat(self) -> np.ndarray:
        """All weights as one vector (a view: writing to it changes the network)."""
        return self._params.flat

    @property
    def grad_flat(self) -> np.ndarray:
        return self._params.grad_flat

    @property
    def num_weights(self) -> int:
        return self._params.size

    @property
    def dtype(self) -> np.dtype:
        return self._params.dtype

    def zero_grad(self) -> None:
        self._params.zero_grad()

    def save(self, path) -> None:
        """Write the weights and the JSON config (with a format version) to the directory ``path``."""
        from .io import save

        save(self, path)

    def config(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise TypeError(f"{type(self).__name__} cannot be saved")

    def __getstate__(self) -> dict[str, Any]:
        # pickle (an estimator in a Pipeline, a Dask task) without the last forward's activations, which
        # only backward reads and which hold a whole batch: (T, B, ...) arrays per layer
        return {k: (None if k == "_last" else v) for k, v in self.__dict__.items()}


class LSTM(Module):
    """A stack of recurrent layers.

    >>> net = LSTM(3, 5, num_layers=2, seed=0)
    >>> y, (h, c) = net.forward(np.zeros((7, 4, 3)))
    >>> y.shape, h.shape
    ((7, 4, 5), (2, 4, 5))
    >>> dx, (dh0, dc0) = net.backward(np.ones_like(y))
    >>> sorted(net.grads) == sorted(net.params)
    True
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 batch_first: bool = False, cell: str = "lstm", dtype="float64", seed=0, **cell_options):
        self.input_size = V.positive_int("input_size", input_size, maximum=V.MAX_SIZE)
        self.hidden_size = V.positive_int("hidden_size", hidden_size, maximum=V.MAX_SIZE)
        self.num_layers = V.positive_int("num_layers", num_layers, maximum=V.MAX_LAYERS)
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        self.cell_name = cell
        self.cell_options = dict(cell_options)
        dt = V.dtype("dtype", dtype)
        cls = get_cell(cell)
        D = self.num_directions
        self.cells = []
        in_size = self.input_size
        for layer in range(self.num_layers):
            self.cells.extend(cls(in_size, self.hidden_size, dtype=dt, **cell_options) for _ in range(D))
            in_size = D * self.cells[-1].output_size
        self.output_size = in_size
        # Sized before anything is allocated: weights and gradients, for the cells and for the stack's copy.
        n = sum(prod(shape) for c in self.cells for shape in c.param_shapes().values())
        V.memory("LSTM", 4 * n * dt.itemsize, f"this network has {n:,} weights; use fewer or smaller layers "
                                              f"(hidden_size, num_layers)")
        children = [(self._prefix(k // D, k % D), ParamSet(c.param_shapes(), dtype=dt))
                    for k, c in enumerate(self.cells)]
        self.state_names = self.cells[0].state_names
        self._params = ParamSet.concat(children, dtype=dt)
        self._cell_params = [ps for _, ps in children]
        rng = np.random.default_rng(seed)
        for c, ps in zip(self.cells, self._cell_params):
            c.init_params(ps.params, rng)
        self._seed = seed if isinstance(seed, int) else None
        self._last = None

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @staticmethod
    def _prefix(layer: int, direction: int) -> str:
        return f"l{layer}{'_reverse' if direction else ''}."

    def config(self) -> dict[str, Any]:
        return {"type": "LSTM", "input_size": self.input_size, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "bidirectional": self.bidirectional,
                "batch_first": self.batch_first, "cell": self.cell_name, "dtype": self.dtype.name,
                "seed": self._seed, **self.cell_options}

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.cell_options.items())
        return (f"LSTM({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, cell={self.cell_name!r}, dtype={self.dtype.name!r}{extra})")

    # ------------------------------------------------------------------ forward
    def _inputs(self, x, state, lengths, mask):
        """Validate and bring everything to time-major (T, B, I) form; return what forward needs."""
        x = V.array("x", x, (2, 3), self.dtype, layout="(T, B, I)" if not self.batch_first else "(B, T, I)")
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None, :]
        elif self.batch_first:
            x = np.ascontiguousarray(x.transpose(1, 0, 2))
        T, B, I = x.shape
        if I != self.input_size:
            raise ValueError(f"x: expected {self.input_size} input features (last axis), got {I}; "
                             f"the network was built with input_size={self.input_size}")
        if lengths is not None and mask is not None:
            raise ValueError("forward: pass either lengths or mask, not both")
        if lengths is not None:
            lens = V.lengths("lengths", lengths, T, B)
        elif mask is not None:
            m = np.asarray(mask)
            if self.batch_first and m.ndim == 2:
                m = m.T
            lens = V.prefix_mask("mask", m, T, B)
        else:
            lens = None
        L, D = self.num_layers, self.num_directions
        sizes = self.cells[0].state_sizes()
        if state is None:
            state = tuple(np.zeros((L * D, B, sizes[k]), dtype=self.dtype) for k in self.state_names)
        else:
            if isinstance(state, np.ndarray):
                state = (state,)
            if len(state) != len(self.state_names):
                raise ValueError(f"state: expected a tuple of {len(self.state_names)} arrays "
                                 f"{self.state_names}, got {len(state)}")
            checked = []
            for k, s in zip(self.state_names, state):
                want = (L * D, sizes[k]) if unbatched else (L * D, B, sizes[k])
                s = V.array(f"state[{k!r}]", s, len(want), self.dtype, layout="(layers*directions, B, size)",
                            nonempty=False)
                if s.shape != want:
                    raise ValueError(f"state[{k!r}]: expected shape {want} (layers*directions, B, size), got {s.shape}")
                checked.append(s[:, None, :] if unbatched else s)
            state = tuple(checked)
        return x, state, lens, unbatched

    def forward(self, x, state=None, lengths=None, mask=None):
        """Run the stack; return ``(y, state)`` and keep what :meth:`backward` needs."""
        x, state0, lens, unbatched = self._inputs(x, state, lengths, mask)
        T, B, _ = x.shape
        mask_tb = None if lens is None else (np.arange(T)[:, None] < lens[None, :])
        rev = _reverse_index(lens if lens is not None else np.full(B, T), T) if self.bidirectional else None
        D = self.num_directions
        caches, final = [], [[None] * (self.num_layers * D) for _ in self.state_names]
        inp = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                cell, p = self.cells[k], self._cell_params[k].params
                s0 = tuple(np.ascontiguousarray(s[k]) for s in state0)
                xin = _gather_time(inp, rev) if d else inp
                if self.training and getattr(cell, "stochastic", False):
                    y, sT, cache = cell.forward(p, xin, s0, mask_tb, rng=self._noise_rng)
                else:
                    y, sT, cache = cell.forward(p, xin, s0, mask_tb)
                outs.append(_gather_time(y, rev) if d else y)
                caches.append(cache)
                for i, s in enumerate(sT):
                    final[i][k] = s
            inp = outs[0] if D == 1 else np.concatenate(outs, axis=2)
        y = inp
        stateT = tuple(np.stack(f) for f in final)
        self._last = {"caches": caches, "mask": mask_tb, "rev": rev, "T": T, "B": B, "unbatched": unbatched}
        return self._to_edge(y, stateT, unbatched)

    def _to_edge(self, y, stateT, unbatched):
        if unbatched:
            return y[:, 0], tuple(s[:, 0] for s in stateT)
        if self.batch_first:
            y = np.ascontiguousarray(y.transpose(1, 0, 2))
        return y, stateT

    __call__ = forward

    # ------------------------------------------------------------------ backward
    def backward(self, dy, dstate=None, accumulate: bool = False, truncated: bool = False):
        """Gradient of ``sum(y * dy) + sum_k sum(stateT[k] * dstate[k])`` for the last forward.

        Fills ``self.grads`` (adds to it with ``accumulate=True``) and returns ``(dx, dstate0)`` in the
        layout the forward received. ``truncated=True`` asks cells for the 1997 truncated gradient.
        """
        last = self._last
        if last is None:
            raise RuntimeError("backward: call forward first (backward differentiates the last forward)")
        T, B, unbatched = last["T"], last["B"], last["unbatched"]
        D, L = self.num_directions, self.num_layers
        want = (T, self.output_size) if unbatched else ((B, T, self.output_size) if self.batch_first
                                                        else (T, B, self.output_size))
        dy = V.array("dy", dy, len(want), self.dtype, layout="like y")
        if dy.shape != want:
            raise ValueError(f"dy: expected the shape of y {want}, got {dy.shape}")
        if unbatched:
            dy = dy[:, None, :]
        elif self.batch_first:
            dy = np.ascontiguousarray(dy.transpose(1, 0, 2))
        sizes = self.cells[0].state_sizes()
        if dstate is None:
            dstate = tuple(np.zeros((L * D, B, sizes[k]), dtype=self.dtype) for k in self.state_names)
        else:
            if isinstance(dstate, np.ndarray):
                dstate = (dstate,)
            dstate = tuple(V.array(f"dstate[{k!r}]", s, (2, 3), self.dtype, nonempty=False).reshape(L * D, B, sizes[k])
                           for k, s in zip(self.state_names, dstate))
        if not accumulate:
            self.zero_grad()
        rev, caches = last["rev"], last["caches"]
        dstate0 = [np.zeros_like(s) for s in dstate]
        d_out = dy                                          # error reaching this layer's output (T, B, D*F)
        F = self.cells[0].output_size
        for layer in range(L - 1, -1, -1):
            d_in = None
            for d in range(D):
                k = layer * D + d
                cell, ps = self.cells[k], self._cell_params[k]
                dyk = np.ascontiguousarray(d_out[:, :, d * F:(d + 1) * F])
                if d:
                    dyk = _gather_time(dyk, rev)
                dx, ds0 = cell.backward(ps.params, caches[k], dyk, tuple(np.ascontiguousarray(s[k]) for s in dstate),
                                        ps.grads, truncated=truncated)
                if d:
                    dx = _gather_time(dx, rev)
                d_in = dx if d_in is None else d_in + dx
                for i, s in enumerate(ds0):
                    dstate0[i][k] = s
            d_out = d_in
        dx, dstate0 = d_out, tuple(dstate0)
        if unbatched:
            return dx[:, 0], tuple(s[:, 0] for s in dstate0)
        if self.batch_first:
            dx = np.ascontiguousarray(dx.transpose(1, 0, 2))
        return dx, dstate0

    # ------------------------------------------------------------------ inspection
    def internals(self) -> dict[str, np.ndarray]:
        """Per-step gate activations and cell states of the last forward, in input time order.

        Keys are ``"l{layer}[_reverse].{name}"`` (e.g. ``"l0.i"``, ``"l0.c"``); each array is (T, B, n)
        (batch_first: (B, T, n)). This is what ``torch.nn.LSTM`` does not expose (pytorch#31423).
        """
        last = self._last
        if last is None:
            raise RuntimeError("internals: call forward first")
        out = {}
        for k, (cell, cache) in enumerate(zip(self.cells, last["caches"])):
            layer, d = divmod(k, self.num_directions)
            for name, a in cell.internals(cache).items():
                a = _gather_time(a, last["rev"]) if d else a
                if last["unbatched"]:
                    a = a[:, 0]
                elif self.batch_first:
                    a = a.transpose(1, 0, 2)
                out[self._prefix(layer, d) + name] = a
        return out


class Readout(Module):
    """Output units applied at every step: ``out(t) = f(h(t) W^T + b)``.

    ``activation``: "identity" (regression), "logistic" (the paper's output units), "softmax"
    (classes; pair with the cross-entropy loss), or any name in :mod:`lstmkit.activations`.
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "identity", bias: bool = True,
                 dtype="float64", seed=0, init_range: float | None = None):
        self.in_features = V.positive_int("in_features", in_features, maximum=V.MAX_SIZE)
        self.out_features = V.positive_int("out_features", out_features, maximum=V.MAX_SIZE)
        self.activation = activation
        self._softmax = activation == "softmax"
        self._act = None if self._softmax else act.get(activation)
        self.bias = bool(bias)
        self.init_range = init_range
        dt = V.dtype("dtype", dtype)
        shapes = {"W": (self.out_features, self.in_features)}
        if self.bias:
            shapes["b"] = (self.out_features,)
        self._params = ParamSet(shapes, dtype=dt)
        r = init_range if init_range is not None else 1.0 / np.sqrt(self.in_features)
        rng = np.random.default_rng(seed)
        for name in self._params:
            self._params[name][...] = rng.uniform(-r, r, size=self._params[name].shape)
        self._seed = seed if isinstance(seed, int) else None
        self._last = None

    def config(self) -> dict[str, Any]:
        return {"type": "Readout", "in_features": self.in_features, "out_features": self.out_features,
                "activation": self.activation, "bias": self.bias, "dtype": self.dtype.name,
                "seed": self._seed, "init_range": self.init_range}

    def forward(self, h: np.ndarray) -> np.ndarray:
        """h (..., F) -> out (..., O)."""
        lead = h.shape[:-1]
        h2 = h.reshape(-1, self.in_features)
        z = h2 @ self.params["W"].T                                      # (N, O) net inputs
        if self.bias:
            z += self.params["b"]
        if self._softmax:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            out = e / e.sum(axis=1, keepdims=True)
        else:
            out = self._act(z)
        self._last = (h2, out, lead)
        return out.reshape(*lead, self.out_features)

    __call__ = forward

    def backward(self, dout: np.ndarray, accumulate: bool = False) -> np.ndarray:
        """Gradient of sum(out * dout); fills grads, returns dh."""
        if self._last is None:
            raise RuntimeError("backward: call forward first (backward differentiates the last forward)")
        h2, out, lead = self._last
        want = (*lead, self.out_features)
        dout = V.array("dout", dout, len(want), self.dtype, layout="like the outputs")
        if dout.shape != want:
            raise ValueError(f"dout: expected the shape of the outputs {want}, got {dout.shape}")
        d = dout.reshape(-1, self.out_features)
        if self._softmax:
            dz = out * (d - (d * out).sum(axis=1, keepdims=True))       # softmax Jacobian-vector product
        else:
            dz = d * self._act.deriv_from_output(out)
        if not accumulate:
            self.zero_grad()
        self.grads["W"] += dz.T @ h2
        if self.bias:
            self.grads["b"] += dz.sum(axis=0)
        return (dz @ self.params["W"]).reshape(*lead, self.in_features)


class Network(Module):
    """A recurrent stack followed by output units: ``out = readout(rnn(x))`` at every step.

    With ``input_shortcut=True`` the output units read ``[rnn(x), x]`` (inputs connected straight to
    the outputs, as in the paper's connectivity "B" and Gers et al. 2000's nets).

    >>> net = Network(LSTM(2, 4, seed=0), Readout(4, 1, "logistic", seed=1))
    >>> out, state = net.forward(np.zeros((10, 3, 2)))
    >>> out.shape, net.num_weights
    ((10, 3, 1), 117)
    """

    def __init__(self, rnn: LSTM, readout: Readout, input_shortcut: bool = False):
        self.input_shortcut = bool(input_shortcut)
        want = rnn.output_size + (rnn.input_size if self.input_shortcut else 0)
        if readout.in_features != want:
            what = "output size + input size" if self.input_shortcut else "output size"
            raise ValueError(f"readout: expected in_features = the recurrent stack's {what} = {want}, "
                             f"got {readout.in_features}")
        if readout.dtype != rnn.dtype:
            raise TypeError(f"readout: dtype {readout.dtype} differs from the recurrent stack's {rnn.dtype}")
        self.rnn, self.readout = rnn, readout
        self._params = ParamSet.concat([("rnn.", rnn._params), ("out.", readout._params)])

    @property
    def batch_first(self) -> bool:
        return self.rnn.batch_first

    def _children(self):
        return (self.rnn, self.readout)

    def config(self) -> dict[str, Any]:
        return {"type": "Network", "rnn": self.rnn.config(), "readout": self.readout.config(),
                "input_shortcut": self.input_shortcut}

    def __repr__(self) -> str:
        return f"Network({self.rnn!r}, Readout({self.readout.in_features}, {self.readout.out_features}, {self.readout.activation!r}))"

    def forward(self, x, state=None, lengths=None, mask=None):
        h, stateT = self.rnn.forward(x, state, lengths=lengths, mask=mask)
        if self.input_shortcut:  # output units also see the inputs (the paper's connectivity "B", Gers 2000)
            h = np.concatenate([h, np.asarray(x, dtype=h.dtype).reshape(h.shape[:-1] + (-1,))], axis=-1)
        return self.readout.forward(h), stateT

    __call__ = forward

    def backward(self, dout, dstate=None, accumulate: bool = False, truncated: bool = False):
        if not accumulate:
            self.zero_grad()
        dh = self.readout.backward(dout, accumulate=True)
        if not self.input_shortcut:
            return self.rnn.backward(dh, dstate, accumulate=True, truncated=truncated)
        F = self.rnn.output_size
        dx, dstate0 = self.rnn.backward(np.ascontiguousarray(dh[..., :F]), dstate, accumulate=True,
                                        truncated=truncated)
        return dx + dh[..., F:], dstate0

    def internals(self) -> dict[str, np.ndarray]:
        return self.rnn.internals()

    def predict(self, x, state=None, lengths=None, mask=None) -> np.ndarray:
        return self.forward(x, state, lengths=lengths, mask=mask)[0]
