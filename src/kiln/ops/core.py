"""Conversion, casting and structural ops: the entry points every other `kiln.ops` file uses.

Dtype rules, chosen to match what Keras 3 code expects:
- Python floats and float64 NumPy arrays become float32 unless `dtype` is given.
- Python ints (and lists of them) become int32; NumPy integer arrays keep their dtype.
- torch tensors keep their dtype; `kiln.Variable`s are unwrapped to their tensor.
"""

import builtins
import importlib.util

import numpy as np
import torch

from kiln.core import dtypes
from kiln.core.variable import Variable

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_HAS_CONFIG = None


def epsilon():
    """The fuzz factor kiln uses against division by zero (`kiln.config.epsilon()`, 1e-7)."""
    global _HAS_CONFIG
    if _HAS_CONFIG is None:
        _HAS_CONFIG = importlib.util.find_spec("kiln.config") is not None
    if _HAS_CONFIG:
        from kiln import config

        fn = getattr(config, "epsilon", None)
        if fn is not None:
            return fn()
    return 1e-7


def _torch_dtype(dtype):
    return None if dtype is None else dtypes.to_torch(dtype)


def _default_device():
    return torch.get_default_device()


def is_tensor(x):
    """True for torch tensors and `kiln.Variable`s.

    Example:
        >>> kiln.ops.is_tensor(kiln.ops.ones(2))
        True
    """
    return isinstance(x, (torch.Tensor, Variable))


def _from_numpy(arr, dtype):
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(
            f"Cannot convert a value of NumPy dtype {arr.dtype} to a tensor. "
            "Expected numbers or booleans; convert strings or objects first."
        )
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, copy=True, order="C")
    t = torch.from_numpy(arr)
    return t if dtype is None else t.to(dtype)


def _contains_tensor(seq):
    for v in seq:
        if isinstance(v, (torch.Tensor, Variable)):
            return True
        if isinstance(v, (list, tuple)) and _contains_tensor(v):
            return True
    return False


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Converts an array-like (tensor, array, scalar, nested list, Variable) to a torch tensor.

    Args:
        x: The value to convert.
        dtype: Optional target dtype (`"float32"`, `torch.int64`, ...).
        sparse, ragged: Accepted for Keras compatibility; must be falsy.

    Example:
        >>> kiln.ops.convert_to_tensor(np.ones(2)).dtype
        torch.float32
        >>> kiln.ops.convert_to_tensor([1, 2]).dtype
        torch.int32
    """
    if sparse or ragged:
        raise ValueError(
            f"kiln tensors are dense. Received: sparse={sparse}, ragged={ragged}; "
            "pass dense values instead."
        )
    tdtype = _torch_dtype(dtype)
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        return x if tdtype is None or x.dtype == tdtype else x.to(tdtype)
    if isinstance(x, (np.ndarray, np.generic)):
        return _from_numpy(np.asarray(x), tdtype)
    if isinstance(x, bool):
        return torch.tensor(x, dtype=tdtype or torch.bool)
    if isinstance(x, int):
        if tdtype is None:
            tdtype = torch.int32 if _INT32_MIN <= x <= _INT32_MAX else torch.int64
        return torch.tensor(x, dtype=tdtype)
    if isinstance(x, float):
        return torch.tensor(x, dtype=tdtype or torch.float32)
    if isinstance(x, complex):
        return torch.tensor(x, dtype=tdtype or torch.complex64)
    if isinstance(x, (list, tuple)):
        if _contains_tensor(x):
            parts = [convert_to_tensor(v) for v in x]
            common = parts[0].dtype
            for p in parts[1:]:
                common = torch.promote_types(common, p.dtype)
            out = torch.stack([p.to(common) for p in parts]) if parts else torch.zeros((0,))
            return out if tdtype is None else out.to(tdtype)
        arr = np.asarray(x)
        if tdtype is None and arr.dtype == np.int64 and arr.size:
            if _INT32_MIN <= arr.min() and arr.max() <= _INT32_MAX:
                arr = arr.astype(np.int32)
        return _from_numpy(arr, tdtype)
    if hasattr(x, "__array__"):
        return _from_numpy(np.asarray(x), tdtype)
    raise TypeError(
        f"Cannot convert {type(x).__name__} to a tensor. Expected a tensor, NumPy array, "
        f"Python number, nested list or kiln.Variable. Received: {x!r}"
    )


def convert_to_numpy(x):
    """Returns `x` as a NumPy array (bfloat16 tensors come back as float32).

    Example:
        >>> kiln.ops.convert_to_numpy(kiln.ops.ones(2))
        array([1., 1.], dtype=float32)
    """
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def cast(x, dtype):
    """Casts `x` to `dtype` (float to int truncates toward zero, as NumPy does).

    Example:
        >>> kiln.ops.cast([1.7, -1.7], "int32")
        tensor([ 1, -1], dtype=torch.int32)
    """
    return convert_to_tensor(x).to(dtypes.to_torch(dtype))


def standardize_dtype(dtype):
    """Returns the Keras string name of a dtype (`torch.float32` → `"float32"`)."""
    return dtypes.standardize(dtype)


def dtype(x):
    """Returns the Keras string name of `x`'s dtype."""
    return dtypes.standardize(convert_to_tensor(x).dtype)


def shape(x):
    """Returns the shape of `x` as a tuple of ints.

    Example:
        >>> kiln.ops.shape(np.zeros((2, 3)))
        (2, 3)
    """
    if isinstance(x, (torch.Tensor, Variable, np.ndarray)):
        return tuple(x.shape)
    return tuple(convert_to_tensor(x).shape)


def ndim(x):
    """Returns the number of dimensions of `x`."""
    return len(shape(x))


def size(x):
    """Returns the number of elements of `x`."""
    return int(np.prod(shape(x), dtype=np.int64))


def stop_gradient(x):
    """Returns `x` cut off from autograd (`tensor.detach()`).

    Example:
        >>> kiln.ops.stop_gradient(kiln.Variable([1.0])).requires_grad
        False
    """
    return convert_to_tensor(x).detach()


def cond(pred, true_fn, false_fn):
    """Calls `true_fn()` if `pred` is true, else `false_fn()` (eager Python branching)."""
    return true_fn() if bool(convert_to_tensor(pred)) else false_fn()


def unstack(x, num=None, axis=0):
    """Splits `x` into a list of tensors along `axis` (the inverse of `stack`)."""
    x = convert_to_tensor(x)
    if num is not None and x.shape[axis] != num:
        raise ValueError(
            f"unstack expected dimension {axis} to have size {num}, but received shape "
            f"{tuple(x.shape)}. Pass num=None or a matching value."
        )
    return list(torch.unbind(x, dim=axis))


def _index_tuple(indices):
    indices = convert_to_tensor(indices).long()
    return tuple(indices[..., i] for i in range(indices.shape[-1]))


def scatter(indices, values, shape):
    """Returns a zero tensor of `shape` with `values` added at `indices` (shape `(N, rank)`).

    Example:
        >>> kiln.ops.scatter([[0], [2]], [1.0, 2.0], (4,))
        tensor([1., 0., 2., 0.])
    """
    values = convert_to_tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    return out.index_put(_index_tuple(indices), values, accumulate=True)


def scatter_update(inputs, indices, updates):
    """Returns a copy of `inputs` with `updates` written at `indices` (shape `(N, rank)`)."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates, dtype=inputs.dtype)
    return inputs.index_put(_index_tuple(indices), updates)


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """Returns the block of `inputs` starting at `start_indices` with size `shape`."""
    inputs = convert_to_tensor(inputs)
    index = tuple(
        builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape)
    )
    return inputs[index]


def slice_update(inputs, start_indices, updates):
    """Returns a copy of `inputs` with the block at `start_indices` replaced by `updates`."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates, dtype=inputs.dtype)
    index = tuple(
        builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, updates.shape)
    )
    out = inputs.clone()
    out[index] = updates
    return out


# -- helpers shared by the other ops files ------------------------------------------------

def _is_scalar(x):
    return isinstance(x, (int, float, bool, complex)) and not isinstance(x, np.generic)


def _pair(x1, x2):
    """Converts two operands to tensors of a common dtype.

    Python scalars are "weak": `int32_tensor + 1.5` is float32 and `float16_tensor + 2.0`
    stays float16, as in Keras/JAX.
    """
    s1, s2 = _is_scalar(x1), _is_scalar(x2)
    if s1 and not s2:
        t2 = convert_to_tensor(x2)
        dt = torch.result_type(t2, x1)
        return torch.tensor(x1, dtype=dt, device=t2.device), t2.to(dt)
    if s2 and not s1:
        t1 = convert_to_tensor(x1)
        dt = torch.result_type(t1, x2)
        return t1.to(dt), torch.tensor(x2, dtype=dt, device=t1.device)
    t1, t2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if t1.dtype != t2.dtype:
        dt = torch.promote_types(t1.dtype, t2.dtype)
        t1, t2 = t1.to(dt), t2.to(dt)
    if t1.device != t2.device:
        t1, t2 = _same_device([t1, t2])
    return t1, t2


def _same_device(tensors):
    """Moves CPU operands (e.g. converted NumPy constants) to the other operands' device,
    so NumPy constants mix with meta tensors during symbolic tracing and with GPU tensors."""
    target = next((t.device for t in tensors if t.device.type != "cpu"), None)
    if target is None:
        return tensors
    return [t if t.device == target else t.to(target) for t in tensors]


def _axes(axis, ndim):
    """Normalizes `axis` (None, int or sequence) to a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        return tuple(a % ndim if ndim else a for a in axis)
    return (axis % ndim if ndim else axis,)


def _float(x):
    """Converts to a floating tensor (integers and bools become float32)."""
    x = convert_to_tensor(x)
    if x.is_floating_point() or x.is_complex():
        return x
    return x.to(torch.float32)
