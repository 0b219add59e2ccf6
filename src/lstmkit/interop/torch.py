"""Exact weight conversion between ``torch.nn.LSTM`` / ``torch.nn.RNN`` and :class:`lstmkit.LSTM`.

PyTorch packs the gates i, f, g, o in ``weight_ih_l{k}`` (4H, I) and ``weight_hh_l{k}`` (4H, H), the
same order and shapes as lstmkit's ``W`` and ``R``. It keeps two biases, ``b_ih`` and ``b_hh``, which
only ever appear as their sum; lstmkit keeps that sum as ``b``. Hence ``to_torch`` writes ``b`` into
``bias_ih`` and zeros into ``bias_hh``: ``to_torch(from_torch(m))`` has m's weights bit for bit and
computes the same function, but splits the bias differently (the outputs agree to rounding).
With ``proj_size`` (LSTMP), torch's ``weight_hr_l{k}`` (P, H) is lstmkit's ``Wr`` and ``weight_hh_l{k}``
is (4H, P), as lstmkit's ``R``.

torch is imported lazily, so lstmkit does not depend on it.
"""
from __future__ import annotations

import numpy as np

_STANDARD = dict(forget_gate=True, input_gate=True, output_gate=True, coupled=False, peepholes=False,
                 full_gate_recurrence=False, layer_norm=False, input_dropout=0.0, recurrent_dropout=0.0,
                 zoneout_cell=0.0, zoneout_hidden=0.0, weight_drop=0.0)


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("lstmkit.interop needs PyTorch: pip install 'lstmkit[test]' or pip install torch") from None
    return torch


def from_torch(module, seed=0):
    """An :class:`lstmkit.LSTM` computing exactly what ``module`` (nn.LSTM or nn.RNN) computes."""
    torch = _torch()
    from ..network import LSTM

    if isinstance(module, torch.nn.LSTM):
        cell, opts = "lstm", ({"proj_size": module.proj_size} if module.proj_size else {})
    elif isinstance(module, torch.nn.RNN):
        cell, opts = "rnn", {"nonlinearity": module.nonlinearity}
    else:
        raise TypeError(f"from_torch: expected torch.nn.LSTM or torch.nn.RNN, got {type(module).__name__}")
    dtype = {torch.float32: "float32", torch.float64: "float64"}.get(module.weight_ih_l0.dtype)
    if dtype is None:
        raise TypeError(f"from_torch: expected float32 or float64 weights, got {module.weight_ih_l0.dtype}")
    net = LSTM(module.input_size, module.hidden_size, num_layers=module.num_layers,
               bidirectional=module.bidirectional, batch_first=module.batch_first, cell=cell,
               dtype=dtype, seed=seed, **opts)
    sd = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    for layer in range(net.num_layers):
        for d in range(net.num_directions):
            sfx = f"_l{layer}{'_reverse' if d else ''}"
            pre = net._prefix(layer, d)
            net.params[pre + "W"][...] = sd["weight_ih" + sfx]
            net.params[pre + "R"][...] = sd["weight_hh" + sfx]
            if "weight_hr" + sfx in sd:
                net.params[pre + "Wr"][...] = sd["weight_hr" + sfx]
            if module.bias:
                net.params[pre + "b"][...] = sd["bias_ih" + sfx] + sd["bias_hh" + sfx]
            else:
                net.params[pre + "b"][...] = 0.0
    return net


def to_torch(net):
    """A ``torch.nn.LSTM`` (or ``nn.RNN``) with ``net``'s weights; the bias goes to ``bias_ih``."""
    torch = _torch()
    if net.cell_name == "lstm":
        cell_opts = {**net.cells[0].options}
        bad = {k: cell_opts.get(k) for k, v in _STANDARD.items() if cell_opts.get(k) != v}
        acts = (cell_opts["gate_activation"], cell_opts["cell_input_activation"], cell_opts["cell_output_activation"])
        from ..activations import get

        if bad or tuple(get(a).name for a in acts) != ("logistic", "tanh", "tanh"):
            raise ValueError(f"to_torch: torch.nn.LSTM has only the standard cell (forget gate, no peepholes, "
                             f"logistic gates, tanh, optionally proj_size; no layer norm, dropout or zoneout "
                             f"inside the cell); this net has {bad or dict(zip(('gate', 'input', 'output'), acts))}")
        mod = torch.nn.LSTM(net.input_size, net.hidden_size, num_layers=net.num_layers, bias=True,
                            batch_first=net.batch_first, bidirectional=net.bidirectional,
                            proj_size=cell_opts["proj_size"])
    elif net.cell_name == "rnn":
        nl = net.cells[0].options["nonlinearity"]
        if nl not in ("tanh",):
            raise ValueError(f"to_torch: torch.nn.RNN supports tanh and relu; this net uses {nl!r}")
        mod = torch.nn.RNN(net.input_size, net.hidden_size, num_layers=net.num_layers, nonlinearity=nl,
                           bias=True, batch_first=net.batch_first, bidirectional=net.bidirectional)
    else:
        raise ValueError(f"to_torch: cell {net.cell_name!r} has no torch counterpart (only 'lstm' and 'rnn')")
    tdt = torch.float64 if net.dtype == np.float64 else torch.float32
    mod = mod.to(tdt)
    with torch.no_grad():
        for layer in range(net.num_layers):
            for d in range(net.num_directions):
                sfx = f"_l{layer}{'_reverse' if d else ''}"
                pre = net._prefix(layer, d)
                getattr(mod, "weight_ih" + sfx).copy_(torch.from_numpy(net.params[pre + "W"].copy()))
                getattr(mod, "weight_hh" + sfx).copy_(torch.from_numpy(net.params[pre + "R"].copy()))
                if cell_opts.get("proj_size") if net.cell_name == "lstm" else False:
                    getattr(mod, "weight_hr" + sfx).copy_(torch.from_numpy(net.params[pre + "Wr"].copy()))
                getattr(mod, "bias_ih" + sfx).copy_(torch.from_numpy(net.params[pre + "b"].copy()))
                getattr(mod, "bias_hh" + sfx).zero_()
    return mod
