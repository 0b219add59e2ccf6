"""``lstmkit export RUN|MODEL --onnx FILE``: a trained network as an ONNX model (``lstmkit.interop.onnx``).

RUN is a run directory of ``lstmkit train`` (its ``model/`` is exported; the run's task and data state,
e.g. the scaler's mean and scale, go into the model's metadata, because the graph reads inputs in the
model's units); MODEL is a directory written by ``net.save``. The graph's ``y`` is ``net.forward(x)[0]``
at every step (inputs, outputs and what is refused: ``lstmkit.interop.onnx``).

FILE is written atomically, only to a new path or, with ``--force``, over a regular file; a directory,
symlink, device or FIFO there is refused and left as it is.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import UsageError, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN|MODEL", help="a run directory of lstmkit train, or a model directory "
                                                       "written by net.save")
    p.add_argument("--onnx", required=True, metavar="FILE", help="write the ONNX model here (e.g. model.onnx)")
    p.add_argument("--force", action="store_true", help="replace FILE if it is an existing regular file")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset of the graph (default 17)")
    p.add_argument("--lengths", action="store_true",
                   help="add a sequence_lens input (int32, one length per sequence) for padded batches")
    p.add_argument("--initial-state", action="store_true", help="add h0 and c0 inputs (default: zero states)")


def _load(source: str):
    """(network, metadata) of a run directory or a saved model directory."""
    from ..io import is_model_dir, load
    from ..runs import Run

    p = Path(source)
    if not p.is_dir():
        raise FileNotFoundError(f"RUN|MODEL: {p} is not a directory; pass the --out directory of lstmkit train "
                                f"or a model directory written by net.save")
    if (p / "run.json").is_file():
        run = Run.open(p, "RUN")
        return run.model(), {"lstmkit.task": run.task,
                             "lstmkit.data_state": json.dumps(run.data_state(), sort_keys=True)}
    if (p / "config.json").is_file() or is_model_dir(p):
        return load(p), {}
    raise ValueError(f"RUN|MODEL: {p} is neither a run directory (no run.json) nor a saved model (no "
                     f"config.json); pass the --out directory of lstmkit train or a directory written by net.save")


@command("export", "a trained network as an ONNX model (modern LSTM cells; checked with onnx.checker)", _args)
def export(args) -> int:
    from .._atomic import check_file_target

    from ..interop import onnx as ox

    try:
        ox._onnx()
    except ImportError as e:
        raise UsageError(f"--onnx: {e}") from None
    opset = ox.check_opset(ox.DEFAULT_OPSET if args.opset is None else args.opset, "--opset")   # before the work
    if check_file_target(args.onnx, "--onnx") is not None and not args.force:
        raise UsageError(f"--onnx: {args.onnx} already exists; lstmkit does not overwrite it without --force")
    net, metadata = _load(args.source)
    model = ox.to_onnx(net, args.onnx, opset=opset, lengths=args.lengths, initial_state=args.initial_state,
                       overwrite=args.force, metadata=metadata)
    names = ", ".join(i.name for i in model.graph.input)
    print(f"ONNX model (opset {opset}, inputs {names}; outputs y, h_n, c_n): {args.onnx}")
    return 0
