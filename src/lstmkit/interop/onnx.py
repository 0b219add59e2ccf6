"""Export a network of modern LSTM layers to ONNX: one ONNX ``LSTM`` node per layer, then the readout.

ONNX's ``LSTM`` operator (opset 14) computes, per direction, with f, g, h its ``activations``::

    i(t) = f(x W_i^T + h(t-1) R_i^T + P_i * c(t-1) + Wb_i + Rb_i)
    f(t) = f(x W_f^T + h(t-1) R_f^T + P_f * c(t-1) + Wb_f + Rb_f)
    z(t) = g(x W_c^T + h(t-1) R_c^T + Wb_c + Rb_c)               (ONNX calls the cell input "c")
    c(t) = f(t) * c(t-1) + i(t) * z(t)
    o(t) = f(x W_o^T + h(t-1) R_o^T + P_o * c(t) + Wb_o + Rb_o)
    h(t) = o(t) * h(c(t))

which are lstmkit's (L1)-(L7) (``lstmkit.cells.lstm``) for the cell with all three gates, no coupling and
no gate recurrence: the same peephole sources (i and f see c(t-1), o sees the new c(t)), one weight per
cell and gate. Only the packing differs, and is converted here::

    =========  =====================  =======================================================
    ONNX       shape                  from lstmkit (per layer, directions stacked: forward, reverse)
    =========  =====================  =======================================================
    W          (D, 4H, I_layer)       W's row blocks reordered i, f, z, o -> i, o, f, z
    R          (D, 4H, H)             R, same reordering
    B          (D, 8H)                [b reordered; zeros]: lstmkit's one bias is Wb, Rb = 0
    P          (D, 3H)                p's rows i, f, o -> i, o, f (only with peepholes)
    =========  =====================  =======================================================

The graph (T and B are dynamic, ``dim_param`` "T" and "B"; D = 2 if bidirectional else 1, L layers)::

    inputs   x              (T, B, I), or (B, T, I) when the network is batch_first (always 3-D: one
                            sequence is (T, 1, I))
             sequence_lens  (B,) int32, lengths in [1, T]         (only with ``lengths=True``)
             h0, c0         (L*D, B, H) initial states            (only with ``initial_state=True``)
    outputs  y              what ``net.forward(x)[0]`` returns (= ``Network.predict``): the readout's
                            outputs after its activation (T, B, O) (batch_first: (B, T, O)); for a bare
                            ``LSTM`` the last layer's h (T, B, D*H)
             h_n, c_n       (L*D, B, H) final states, layer-major as lstmkit's: index = layer*D + direction

Layer l's Y (T, D, B, H) becomes the next layer's input by Transpose to (T, B, D, H) and Reshape to
(T, B, D*H): the forward direction's features first, as lstmkit concatenates them. The readout is
MatMul + Add and its activation (``READOUT_ACTIVATIONS``); with ``input_shortcut`` it reads [h, x].

``sequence_lens`` has lstmkit's mask semantics: past a sequence's end the output is zero and the state
frozen (h_n, c_n are the states at the last real step); the reverse direction reads each sequence
backwards from its own last step. The readout still runs on the zero outputs of the padding, as
``net.forward`` does. What is *not* in the graph: the scaling of a training run's data, the choice of
the last step, the normalisation of a logistic classifier's outputs (``lstmkit predict`` does these;
the command puts the run's data state in the model's metadata).

What can be exported is a whitelist (``EXPORTABLE``): cell "lstm" only, and for each option of
``LSTMCell.DEFAULTS`` the values listed there; an option the whitelist does not name (one added to the
cell later) is exported only at its default value. Everything else is refused with a ``ValueError``
naming the options, because ONNX's operator would compute something else.

The graph is float32 (``DTYPES``: onnxruntime runs no other LSTM). onnx is imported on use:
``pip install 'lstmkit[onnx]'``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import activations as act
from ..cells.lstm import VARIANTS

DEFAULT_OPSET = 17
MIN_OPSET = 14                   # LSTM-14 is the operator as described above; Softmax-13 normalises one axis
# float32 only: the operator allows double, but onnxruntime (1.32) refuses it ("LSTM operator does not
# support double yet"), and lstmkit exports nothing it has not run and compared.
DTYPES = ("float32",)
ONNX_BLOCKS = ("i", "o", "f", "z")   # ONNX's packing of W, R, B (its "c" is lstmkit's z)
ONNX_PEEPHOLES = ("i", "o", "f")     # ONNX's packing of P


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'lstmkit[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


# ------------------------------------------------------------------------------ what can be exported
class Activation(NamedTuple):
    """An ONNX LSTM activation function computing exactly a lstmkit activation."""

    name: str                    # ONNX's name in the ``activations`` attribute
    alpha: float | None          # None: the function takes no alpha/beta
    beta: float | None


# lstmkit activation name -> ONNX LSTM activation. Affine(x) = alpha x + beta; ScaledTanh(x) = alpha tanh(beta x).
LSTM_ACTIVATIONS: dict[str, Activation] = {
    "logistic": Activation("Sigmoid", None, None),
    "tanh": Activation("Tanh", None, None),
    "identity": Activation("Affine", 1.0, 0.0),
    "h1": Activation("ScaledTanh", 1.0, 0.5),     # 2 sigma(x) - 1 = tanh(x/2)
    "g2": Activation("ScaledTanh", 2.0, 0.5),     # 4 sigma(x) - 2 = 2 tanh(x/2)
}


class Allowed(NamedTuple):
    """Which values of one cell option can be exported, and why (for the error message)."""

    test: Callable[[Any], bool]
    says: str


def _only(value, why: str) -> Allowed:
    return Allowed(lambda v: v == value, f"expected {value!r}: {why}")


def _activation(v) -> bool:
    try:
        return act.get(v).name in LSTM_ACTIVATIONS
    except (TypeError, ValueError):
        return False


_ANY = Allowed(lambda v: True, "")
_ACTS = Allowed(_activation, f"expected one of {', '.join(LSTM_ACTIVATIONS)} (the functions ONNX's LSTM "
                             f"computes exactly)")

# The whitelist: every option of LSTMCell.DEFAULTS that may differ from its default, with what it may be.
EXPORTABLE: dict[str, Allowed] = {
    "variant": _ANY,             # a shorthand: the options it sets are checked one by one below
    "forget_gate": _only(True, "ONNX's LSTM always has a forget gate"),
    "input_gate": _only(True, "ONNX's LSTM always has an input gate (NIG has none)"),
    "output_gate": _only(True, "ONNX's LSTM always has an output gate (NOG has none)"),
    "coupled": _only(False, "ONNX's input_forget attribute has no equations in the operator's "
                            "specification, so lstmkit does not rely on it meaning f = 1 - i"),
    "peepholes": Allowed(lambda v: v in (True, False), "expected True or False"),
    "full_gate_recurrence": _only(False, "ONNX's LSTM has no gate-to-gate recurrent weights"),
    "gate_activation": _ACTS,
    "cell_input_activation": _ACTS,
    "cell_output_activation": _ACTS,
    "forget_bias": _ANY,         # initialisation only: the weights are exported as they are
    "init_range": _ANY,          # initialisation only
    "kernel": _ANY,              # every kernel computes the same function
    # lstm_toolbox.py: dropout is off at evaluation (the masks are scaled while training), so the
    # exported inference graph is exact; the others change the equations.
    "input_dropout": _ANY,
    "recurrent_dropout": _ANY,
    "weight_drop": _ANY,
    "proj_size": _only(0, "ONNX's LSTM has no projection of h (LSTMP)"),
    "layer_norm": _only(False, "ONNX's LSTM has no layer normalisation"),
    "zoneout_cell": _only(0.0, "zoneout's evaluation c(t) = z c(t-1) + (1-z) c~(t) is not ONNX's cell update"),
    "zoneout_hidden": _only(0.0, "zoneout's evaluation h(t) = z h(t-1) + (1-z) h~(t) is not ONNX's output"),
}

# Cells other than "lstm": why ONNX's LSTM operator cannot compute them.
NOT_EXPORTABLE_CELLS = {
    "lstm1997": "the 1997 cell's recurrent inputs include the previous gate activations (connectivity F), "
                "blocks of cells share gates, and it may have conventional hidden units; ONNX's LSTM has none "
                "of these",
    "rnn": "a simple recurrent layer is not an LSTM (ONNX's RNN operator is not supported by this export)",
}


def unsupported(cell) -> list[str]:
    """The options of ``cell`` (a ``lstmkit.cells.LSTMCell``) that ONNX's LSTM cannot express, each as
    ``"name=value (why)"``; empty when the cell can be exported."""
    defaults = type(cell).DEFAULTS
    variant = cell.options.get("variant")
    bad = []
    for name, value in cell.options.items():
        rule = EXPORTABLE.get(name)
        if rule is None:
            if name in defaults and _same(value, defaults[name]):
                continue
            bad.append(f"{name}={value!r} (an option the ONNX export does not know; only its default "
                       f"{defaults.get(name)!r} can be exported)")
        elif not rule.test(value):
            set_by = variant in VARIANTS and name in VARIANTS[variant] and _same(VARIANTS[variant][name], value)
            why = f"; variant {variant!r} sets it" if set_by else ""
            bad.append(f"{name}={value!r} ({rule.says}{why})")
    return bad


def _same(a, b) -> bool:
    """a is b's value (0 and 0.0 are, True and 1 are not)."""
    flag = (bool, np.bool_)
    try:
        return isinstance(a, flag) == isinstance(b, flag) and bool(a == b)
    except (TypeError, ValueError):   # an array-like value: not the default
        return False


def check_exportable(rnn) -> None:
    """Raise ValueError naming what ONNX cannot express in the recurrent stack ``rnn`` (an ``LSTM``)."""
    from ..cells import LSTMCell

    name = rnn.cell_name
    if name != LSTMCell.name:
        why = NOT_EXPORTABLE_CELLS.get(name, "only the modern cell maps onto ONNX's LSTM operator")
        raise ValueError(f"to_onnx: cell {name!r} cannot be exported to ONNX: {why}; expected cell "
                         f"'lstm' (the modern cell); fix: train with --cell lstm")
    bad = sorted({b for c in rnn.cells for b in unsupported(c)})
    if bad:
        raise ValueError(f"to_onnx: ONNX's LSTM operator cannot express this cell's "
                         f"{'options' if len(bad) > 1 else 'option'} {'; '.join(bad)}; fix: export a net "
                         f"trained without {'them' if len(bad) > 1 else 'it'} (or use lstmkit itself)")


# ------------------------------------------------------------------------------ graph building
class _Graph:
    """Nodes and initialisers with unique names; ``dtype`` is the float type of every tensor."""

    def __init__(self, onnx, dtype: np.dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, value, dtype=None) -> str:
        name = self.fresh(stem)
        arr = np.asarray(value, dtype=dtype or self.dtype)
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, out: list[str] | None = None, **attrs):
        outs = out or [self.fresh(op.lower()) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outs, name=self.fresh(op), **attrs))
        return outs if len(outs) > 1 else outs[0]


def _blocks(a: np.ndarray, names, order, H: int) -> np.ndarray:
    """Rows of ``a`` (len(names)*H, ...) in H-row blocks named ``names``, rearranged into ``order``."""
    return np.concatenate([a[names.index(k) * H:(names.index(k) + 1) * H] for k in order])


def _lstm_layer(g: _Graph, rnn, layer: int, x: str, seq: str, h0: str, c0: str):
    """One ONNX LSTM node for ``layer`` of ``rnn``; returns (Y as (T, B, D*H), Y_h, Y_c)."""
    D, H = rnn.num_directions, rnn.hidden_size
    cell = rnn.cells[layer * D]
    params = [{k: rnn.params[rnn._prefix(layer, d) + k] for k in cell.param_shapes()} for d in range(D)]
    W = np.stack([_blocks(p["W"], cell.block_names, ONNX_BLOCKS, H) for p in params])        # (D, 4H, I)
    R = np.stack([_blocks(p["R"], cell.block_names, ONNX_BLOCKS, H) for p in params])        # (D, 4H, H)
    b = np.stack([_blocks(p["b"], cell.block_names, ONNX_BLOCKS, H) for p in params])        # (D, 4H)
    B = np.concatenate([b, np.zeros_like(b)], axis=1)                                        # (D, 8H)
    inputs = [x, g.const(f"l{layer}.W", W), g.const(f"l{layer}.R", R), g.const(f"l{layer}.B", B), seq, h0, c0]
    if cell.options["peepholes"]:
        P = np.stack([_blocks(p["p"].reshape(-1), cell.gate_names, ONNX_PEEPHOLES, H) for p in params])
        inputs.append(g.const(f"l{layer}.P", P))                                             # (D, 3H)
    names = [act.get(cell.options[k]).name for k in
             ("gate_activation", "cell_input_activation", "cell_output_activation")]
    fns = [LSTM_ACTIVATIONS[n] for n in names] * D
    attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward",
             "activations": [f.name for f in fns]}
    if any(f.alpha is not None for f in fns):
        # consumed in the order of the functions, one per function that takes them (the spec's wording;
        # onnxruntime reads them so): every function used here that takes alpha also takes beta
        attrs["activation_alpha"] = [f.alpha for f in fns if f.alpha is not None]
        attrs["activation_beta"] = [f.beta for f in fns if f.beta is not None]
    Y, Yh, Yc = g.node("LSTM", inputs, n_out=3, **attrs)                                     # Y (T, D, B, H)
    Yt = g.node("Transpose", [Y], perm=[0, 2, 1, 3])                                         # (T, B, D, H)
    shape = g.const("shape", [0, 0, D * H], dtype=np.int64)
    return g.node("Reshape", [Yt, shape]), Yh, Yc                                            # (T, B, D*H)


def _affine_act(scale: float, shift: float):
    """y = scale * sigmoid(x) - shift (the paper's g2 and h1)."""
    def build(g: _Graph, z: str) -> str:
        s = g.node("Sigmoid", [z])
        return g.node("Sub", [g.node("Mul", [s, g.const("scale", scale)]), g.const("shift", shift)])
    return build


# Readout activation name -> builder of its nodes (z: the net inputs (T, B, O)).
READOUT_ACTIVATIONS: dict[str, Callable[[_Graph, str], str]] = {
    "identity": lambda g, z: z,
    "logistic": lambda g, z: g.node("Sigmoid", [z]),
    "tanh": lambda g, z: g.node("Tanh", [z]),
    "softmax": lambda g, z: g.node("Softmax", [z], axis=-1),
    "g2": _affine_act(4.0, 2.0),
    "h1": _affine_act(2.0, 1.0),
}


def _readout(g: _Graph, readout, h: str) -> str:
    key = readout.activation if readout.activation == "softmax" else act.get(readout.activation).name
    if key not in READOUT_ACTIVATIONS:
        raise ValueError(f"to_onnx: the readout's activation {readout.activation!r} has no ONNX form here; "
                         f"expected one of {', '.join(READOUT_ACTIVATIONS)}")
    z = g.node("MatMul", [h, g.const("out.W_T", readout.params["W"].T)])                       # (T, B, O)
    if readout.bias:
        z = g.node("Add", [z, g.const("out.b", readout.params["b"])])
    return READOUT_ACTIVATIONS[key](g, z)


def _parts(net):
    """(rnn, readout or None, input_shortcut) of a Network or a bare LSTM stack."""
    from ..network import LSTM, Network

    if isinstance(net, Network):
        return net.rnn, net.readout, net.input_shortcut
    if isinstance(net, LSTM):
        return net, None, False
    raise TypeError(f"to_onnx: expected a lstmkit Network or LSTM, got {type(net).__name__}; "
                    f"a Readout alone has no recurrent layers to export")


def check_opset(opset, what: str = "to_onnx: opset") -> int:
    """``opset`` as an int, or a ValueError when it is not one this export and the installed onnx support."""
    onnx = _onnx()
    top = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= top:
        raise ValueError(f"{what} expects an integer in [{MIN_OPSET}, {top}] (this onnx knows up to {top}), "
                         f"got {opset!r}")
    return int(opset)


def build_model(net, *, opset: int = DEFAULT_OPSET, dtype: str = "float32", lengths: bool = False,
                initial_state: bool = False, metadata: dict[str, str] | None = None):
    """The ``onnx.ModelProto`` of ``net`` (see the module docstring), checked with ``onnx.checker``."""
    onnx = _onnx()
    from onnx import TensorProto, helper

    from .. import __version__

    opset = check_opset(opset)
    if dtype not in DTYPES:
        raise ValueError(f"to_onnx: dtype expects {' or '.join(map(repr, DTYPES))} (onnxruntime's LSTM runs "
                         f"float32 only), got {dtype!r}")
    rnn, readout, shortcut = _parts(net)
    check_exportable(rnn)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    g = _Graph(onnx, np.dtype(dtype))
    L, D, H, I = rnn.num_layers, rnn.num_directions, rnn.hidden_size, rnn.input_size
    edge = ["B", "T"] if rnn.batch_first else ["T", "B"]

    inputs = [helper.make_tensor_value_info("x", elem, [*edge, I])]
    x = g.node("Transpose", ["x"], perm=[1, 0, 2]) if rnn.batch_first else "x"              # (T, B, I)
    seq = ""
    if lengths:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["B"]))
        seq = "sequence_lens"
    if initial_state:
        inputs += [helper.make_tensor_value_info(k, elem, [L * D, "B", H]) for k in ("h0", "c0")]

    h, finals = x, []
    for layer in range(L):
        h0 = c0 = ""
        if initial_state:
            starts, ends = g.const("start", [layer * D], np.int64), g.const("end", [(layer + 1) * D], np.int64)
            axes = g.const("axes", [0], np.int64)
            h0, c0 = (g.node("Slice", [k, starts, ends, axes]) for k in ("h0", "c0"))    # (D, B, H)
        h, Yh, Yc = _lstm_layer(g, rnn, layer, h, seq, h0, c0)
        finals.append((Yh, Yc))
    for k, name in enumerate(("h_n", "c_n")):
        parts = [f[k] for f in finals]
        if len(parts) == 1:
            g.node("Identity", parts, out=[name])
        else:
            g.node("Concat", parts, out=[name], axis=0)                                      # (L*D, B, H)

    out_size = rnn.output_size
    if readout is not None:
        if shortcut:
            h = g.node("Concat", [h, x], axis=2)                                             # [h, x]
        h = _readout(g, readout, h)
        out_size = readout.out_features
    g.node("Transpose", [h], out=["y"], perm=[1, 0, 2]) if rnn.batch_first else g.node("Identity", [h], out=["y"])
    outputs = [helper.make_tensor_value_info("y", elem, [*edge, out_size])]
    outputs += [helper.make_tensor_value_info(k, elem, [L * D, "B", H]) for k in ("h_n", "c_n")]

    doc = (f"lstmkit {type(net).__name__}: {L} layer(s) of {H} LSTM cells, "
           f"{'bidirectional' if D == 2 else 'unidirectional'}; y = net.forward(x)[0]")
    graph = helper.make_graph(g.nodes, "lstmkit", inputs, outputs, initializer=g.inits, doc_string=doc)
    ops = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=ops, producer_name="lstmkit", producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(ops))
    import json

    meta = {"lstmkit.model": json.dumps(net.config(), sort_keys=True), **(metadata or {})}
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)
    return model


def to_onnx(net, path=None, *, opset: int = DEFAULT_OPSET, dtype: str = "float32", lengths: bool = False,
            initial_state: bool = False, overwrite: bool = False, metadata: dict[str, str] | None = None):
    """Export ``net`` (a ``Network`` or a bare ``LSTM``) to ONNX; return the ``onnx.ModelProto``.

    ``path``: also write the model there, atomically; an existing file is replaced only with
    ``overwrite=True``, and never a directory, symlink, device or FIFO. ``dtype``: the float type of the
    graph, float32 (weights are cast; see ``DTYPES``). ``lengths``: add the ``sequence_lens`` input; ``initial_state``: add the
    ``h0``, ``c0`` inputs. Refuses (ValueError, naming them) cells and options ONNX cannot express.
    """
    from .._atomic import atomic_write_bytes, check_file_target

    if path is not None and check_file_target(path, "to_onnx") is not None and not overwrite:
        raise ValueError(f"to_onnx: {path} already exists; pass overwrite=True to replace it")
    model = build_model(net, opset=opset, dtype=dtype, lengths=lengths, initial_state=initial_state,
                        metadata=metadata)
    if path is not None:
        atomic_write_bytes(path, model.SerializeToString(), what="to_onnx", replace=overwrite)
    return model
