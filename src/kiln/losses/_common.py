"""Small helpers shared by `kiln.losses` and `kiln.metrics`.

Tensor conversion, the global float type and epsilon, Keras-style masks carried on
tensors, and object naming. Private: the public API is in the package `__init__`.
"""

import importlib

import numpy as np
import torch

from kiln import dtype_policies
from kiln.core import dtypes
from kiln.utils import naming

# -- global settings -------------------------------------------------------------

_MISSING = object()
_config_module = None


def _config():
    """`kiln.config` when it exists (floatx/epsilon settings), else a sentinel."""
    global _config_module
    if _config_module is None:
        try:
            _config_module = importlib.import_module("kiln.config")
        except ModuleNotFoundError as e:
            if e.name != "kiln.config":
                raise
            _config_module = _MISSING
    return _config_module


def floatx() -> str:
    """The default float dtype name (`"float32"` unless `kiln.config` says otherwise)."""
    module = _config()
    if module is not _MISSING and hasattr(module, "floatx"):
        return dtypes.standardize(module.floatx())
    return "float32"


def epsilon() -> float:
    """The fuzz factor Keras uses to clip probabilities (1e-7 by default)."""
    module = _config()
    if module is not _MISSING and hasattr(module, "epsilon"):
        return float(module.epsilon())
    return 1e-7


def compute_dtype(dtype) -> str:
    """Resolves a dtype name, a policy or policy name (its compute dtype), or None (floatx)."""
    if dtype is None:
        return floatx()
    policy_dtype = getattr(dtype, "compute_dtype", None)
    if isinstance(policy_dtype, str):
        return dtypes.standardize(policy_dtype)
    return dtype_policies.get(dtype).compute_dtype


# -- tensors ---------------------------------------------------------------------


def to_tensor(x, dtype=None, device=None) -> torch.Tensor:
    """Converts arrays, scalars, lists and `kiln.Variable`s to a torch tensor.

    numpy arrays keep their dtype (float64 stays float64, like Keras's torch backend);
    Python floats and lists of floats become `floatx()`. `dtype` and `device`, when
    given, are applied without copying a tensor that already matches.
    """
    if type(x) is torch.Tensor or type(x) is torch.nn.Parameter:
        if dtype is None or x.dtype is dtype or x.dtype is _TORCH_DTYPES.get(dtype):
            if device is None or x.device == device:
                return x
    if not isinstance(x, torch.Tensor):
        value = getattr(x, "value", None)  # kiln.Variable
        if isinstance(value, torch.Tensor):
            x = value
        elif isinstance(x, np.ndarray) or np.isscalar(x) or isinstance(x, (list, tuple)):
            arr = np.asarray(x)
            if not isinstance(x, np.ndarray) and arr.dtype == np.float64:
                arr = arr.astype(floatx())
            x = torch.as_tensor(arr)
        else:
            x = torch.as_tensor(x)
    if dtype is not None:
        tdtype = dtypes.to_torch(dtype)
        if x.dtype != tdtype or (device is not None and x.device != device):
            x = x.to(device=device, dtype=tdtype)
    elif device is not None and x.device != device:
        x = x.to(device)
    return x


_TORCH_DTYPES = {name: dtypes.to_torch(name) for name in
                 ("float16", "bfloat16", "float32", "float64", "int32", "int64", "bool")}


def divide_no_nan(a, b):
    """`a / b`, with 0 wherever `b == 0`; gradients stay finite."""
    if not isinstance(b, torch.Tensor):
        return a / b if b != 0 else torch.zeros_like(a)
    zero = b == 0
    safe = torch.where(zero, torch.ones_like(b), b)
    return torch.where(zero, torch.zeros_like(a / safe), a / safe)


def canonical_axis(axis, ndim):
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"axis {axis} is out of bounds for a tensor of rank {ndim}.")
    return axis % ndim if ndim else 0


# -- masks -----------------------------------------------------------------------
# A mask travels as the `_keras_mask` attribute of a torch tensor, as in Keras's torch
# backend: a loss whose output carries one (e.g. `ignore_class`) excludes masked entries.


def get_keras_mask(x):
    return getattr(x, "_keras_mask", None)


def set_keras_mask(x, mask):
    x._keras_mask = mask
    return x


# -- naming ----------------------------------------------------------------------


to_snake_case = naming.to_snake_case


def auto_name(class_name: str) -> str:
    """A unique snake_case name from the shared counter: `mean`, then `mean_1`, ..."""
    return naming.auto_name(naming.to_snake_case(class_name))
