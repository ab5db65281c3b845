"""Dtype names: kiln speaks Keras's string names ("float32") and maps them to torch."""

import numpy as np
import torch

_TORCH = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
    "complex64": torch.complex64,
}
_NAMES = {v: k for k, v in _TORCH.items()}
_ALIASES = {"float": "float32", "int": "int64", "double": "float64", "half": "float16"}

FLOAT_NAMES = frozenset({"float16", "bfloat16", "float32", "float64"})


def standardize(dtype) -> str | None:
    """Returns the canonical string name for a dtype given as str, torch, numpy or None."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in _TORCH:
            return name
        raise ValueError(
            f"Unknown dtype {dtype!r}. Expected one of: {sorted(_TORCH)}."
        )
    if isinstance(dtype, torch.dtype):
        if dtype in _NAMES:
            return _NAMES[dtype]
        raise ValueError(f"Unsupported torch dtype {dtype}.")
    if hasattr(dtype, "name") and isinstance(getattr(dtype, "name"), str) and not isinstance(dtype, type):
        # a policy or a numpy dtype
        return standardize(dtype.name)
    try:
        return standardize(np.dtype(dtype).name)
    except TypeError:
        raise ValueError(f"Cannot interpret {dtype!r} as a dtype.") from None


def to_torch(dtype) -> torch.dtype:
    """Returns the torch dtype for any dtype spelling kiln accepts."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return _TORCH[standardize(dtype)]


def is_float(dtype) -> bool:
    return standardize(dtype) in FLOAT_NAMES
