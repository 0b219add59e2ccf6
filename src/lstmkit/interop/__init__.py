"""Conversions to and from other libraries (PyTorch: the oracle in tests, and a path to GPUs; ONNX: export)."""
from .onnx import to_onnx
from .torch import from_torch, to_torch

__all__ = ["from_torch", "to_onnx", "to_torch"]
