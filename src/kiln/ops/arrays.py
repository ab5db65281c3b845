"""NumPy-style array creation, shape manipulation, indexing, sorting and products.

Example:
    >>> kiln.ops.concatenate([kiln.ops.ones((1, 2)), np.zeros((1, 2))]).shape
    torch.Size([2, 2])
"""

import builtins

import numpy as np
import torch

from kiln.core import dtypes
from kiln.core.variable import Variable
from kiln.ops.core import _axes, _pair, _same_device, convert_to_tensor


def _dtype_or(dtype, default):
    return dtypes.to_torch(dtype) if dtype is not None else default


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


# -- creation ------------------------------------------------------------------------------


def zeros(shape, dtype=None):
    """A tensor of zeros; `dtype` defaults to float32.

    Example:
        >>> kiln.ops.zeros((2,), dtype="int32")
        tensor([0, 0], dtype=torch.int32)
    """
    return torch.zeros(_shape(shape), dtype=_dtype_or(dtype, torch.float32))


def ones(shape, dtype=None):
    """A tensor of ones; `dtype` defaults to float32."""
    return torch.ones(_shape(shape), dtype=_dtype_or(dtype, torch.float32))


def full(shape, fill_value, dtype=None):
    """A tensor filled with `fill_value`; `dtype` defaults to float32."""
    if isinstance(fill_value, (torch.Tensor, np.ndarray, Variable)):
        fill = convert_to_tensor(fill_value, dtype=_dtype_or(dtype, torch.float32))
        return torch.broadcast_to(fill, _shape(shape)).clone()
    return torch.full(_shape(shape), fill_value, dtype=_dtype_or(dtype, torch.float32))


def zeros_like(x, dtype=None):
    """Zeros with the shape (and, unless `dtype` is given, the dtype) of `x`."""
    x = convert_to_tensor(x)
    return torch.zeros_like(x, dtype=_dtype_or(dtype, x.dtype))


def ones_like(x, dtype=None):
    """Ones with the shape (and, unless `dtype` is given, the dtype) of `x`."""
    x = convert_to_tensor(x)
    return torch.ones_like(x, dtype=_dtype_or(dtype, x.dtype))


def full_like(x, fill_value, dtype=None):
    """`fill_value` with the shape (and, unless `dtype` is given, the dtype) of `x`."""
    x = convert_to_tensor(x)
    return torch.full_like(x, fill_value, dtype=_dtype_or(dtype, x.dtype))


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in `[start, stop)`; int32 for integer arguments, else float32.

    Example:
        >>> kiln.ops.arange(3)
        tensor([0, 1, 2], dtype=torch.int32)
    """
    if stop is None:
        start, stop = 0, start
    values = (start, stop, step)
    if dtype is None:
        is_int = builtins.all(isinstance(v, (int, np.integer)) for v in values)
        tdtype = torch.int32 if is_int else torch.float32
    else:
        tdtype = dtypes.to_torch(dtype)
    return torch.arange(start, stop, step, dtype=tdtype)


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    """`num` evenly spaced values from `start` to `stop`."""
    tdtype = _dtype_or(dtype, torch.float32)
    if endpoint:
        return torch.linspace(start, stop, num, dtype=tdtype)
    return torch.linspace(start, stop, num + 1, dtype=tdtype)[:-1]


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """An `N x M` matrix with ones on the `k`-th diagonal, float32 by default."""
    M = N if M is None else M
    rows = torch.arange(N).unsqueeze(1)
    cols = torch.arange(M).unsqueeze(0)
    return (cols - rows == k).to(_dtype_or(dtype, torch.float32))


def identity(n, dtype=None):
    """The `n x n` identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    """Ones at and below the `k`-th diagonal."""
    M = N if M is None else M
    rows = torch.arange(N).unsqueeze(1)
    cols = torch.arange(M).unsqueeze(0)
    return (cols - rows <= k).to(_dtype_or(dtype, torch.float32))


def tril(x, k=0):
    """Zeros out entries above the `k`-th diagonal."""
    return torch.tril(convert_to_tensor(x), diagonal=k)


def triu(x, k=0):
    """Zeros out entries below the `k`-th diagonal."""
    return torch.triu(convert_to_tensor(x), diagonal=k)


def diag(x, k=0):
    """Extracts a diagonal (2-D input) or builds a diagonal matrix (1-D input)."""
    return torch.diag(convert_to_tensor(x), diagonal=k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the planes spanned by `axis1` and `axis2`, moved to the last axis."""
    return torch.diagonal(convert_to_tensor(x), offset=offset, dim1=axis1, dim2=axis2)


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along a diagonal."""
    return torch.sum(diagonal(x, offset, axis1, axis2), dim=-1)


# -- shape manipulation --------------------------------------------------------------------


def reshape(x, newshape):
    """`x` with a new shape (one dimension may be -1)."""
    return torch.reshape(convert_to_tensor(x), _shape(newshape))


def transpose(x, axes=None):
    """Permutes axes; `axes=None` reverses them (NumPy semantics).

    Example:
        >>> kiln.ops.transpose(np.zeros((2, 3, 4))).shape
        torch.Size([4, 3, 2])
    """
    x = convert_to_tensor(x)
    if axes is None:
        axes = tuple(range(x.dim() - 1, -1, -1))
    return x.permute(tuple(axes))


def swapaxes(x, axis1, axis2):
    """Interchanges two axes."""
    return torch.swapaxes(convert_to_tensor(x), axis1, axis2)


def moveaxis(x, source, destination):
    """Moves axes to new positions."""
    return torch.movedim(convert_to_tensor(x), source, destination)


def expand_dims(x, axis):
    """Inserts size-1 axes at `axis` (an int or a tuple), as NumPy."""
    x = convert_to_tensor(x)
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    out_ndim = x.dim() + len(axes)
    for a in sorted(a % out_ndim for a in axes):
        x = x.unsqueeze(a)
    return x


def squeeze(x, axis=None):
    """Removes size-1 axes (all of them, or those in `axis`)."""
    x = convert_to_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    axes = _axes(axis, x.dim())
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ValueError(
            f"Cannot squeeze axis {bad[0]} of shape {tuple(x.shape)}: its size is "
            f"{x.shape[bad[0]]}, expected 1. Pass the axes of size 1 or axis=None."
        )
    return torch.squeeze(x, dim=axes)


def ravel(x):
    """The flattened (1-D) array."""
    return torch.flatten(convert_to_tensor(x))


def broadcast_to(x, shape):
    """Broadcasts `x` to `shape`."""
    return torch.broadcast_to(convert_to_tensor(x), _shape(shape))


def _common(xs):
    ts = [convert_to_tensor(x) for x in xs]
    if not ts:
        raise ValueError("Expected a non-empty sequence of arrays. Received an empty one.")
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    ts = [t.to(dt) for t in ts]
    if len({t.device for t in ts}) > 1:
        ts = _same_device(ts)
    return ts


def concatenate(xs, axis=0):
    """Joins arrays along an existing axis (`axis=None` flattens them first)."""
    ts = _common(xs)
    if axis is None:
        return torch.cat([t.flatten() for t in ts])
    return torch.cat(ts, dim=axis)


def stack(x, axis=0):
    """Joins arrays along a new axis."""
    return torch.stack(_common(x), dim=axis)


def hstack(xs):
    """Stacks arrays column-wise (along axis 1, or 0 for 1-D arrays)."""
    return torch.hstack(_common(xs))


def vstack(xs):
    """Stacks arrays row-wise."""
    return torch.vstack(_common(xs))


def split(x, indices_or_sections, axis=0):
    """Splits into equal sections (an int) or at the given indices (a list), as NumPy.

    Example:
        >>> [t.tolist() for t in kiln.ops.split([1, 2, 3, 4], 2)]
        [[1, 2], [3, 4]]
    """
    x = convert_to_tensor(x)
    if isinstance(indices_or_sections, int):
        n = x.shape[axis]
        if n % indices_or_sections:
            raise ValueError(
                f"split() cannot divide axis {axis} of size {n} into "
                f"{indices_or_sections} equal sections. Pass a divisor of {n} or a list of indices."
            )
    else:
        indices_or_sections = [int(i) for i in indices_or_sections]
    return list(torch.tensor_split(x, indices_or_sections, dim=axis))


def tile(x, repeats):
    """Repeats the whole array `repeats` times along each axis."""
    reps = (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats)
    return torch.tile(convert_to_tensor(x), reps)


def repeat(x, repeats, axis=None):
    """Repeats each element `repeats` times (along `axis`, or of the flattened array)."""
    x = convert_to_tensor(x)
    if not isinstance(repeats, int):
        repeats = convert_to_tensor(repeats).long()
    if axis is None:
        return torch.repeat_interleave(x.flatten(), repeats)
    return torch.repeat_interleave(x, repeats, dim=axis)


def flip(x, axis=None):
    """Reverses the order of elements along `axis` (None: all axes)."""
    x = convert_to_tensor(x)
    return torch.flip(x, dims=_axes(axis, x.dim()))


def roll(x, shift, axis=None):
    """Rolls elements along `axis` (None: of the flattened array)."""
    x = convert_to_tensor(x)
    if axis is None:
        return torch.roll(x.flatten(), shift).reshape(x.shape)
    return torch.roll(x, shift, dims=axis)


def _pad_pairs(pad_width, ndim):
    pw = np.asarray(pad_width, dtype=np.int64)
    if pw.ndim == 0:
        pw = np.full((ndim, 2), int(pw))
    elif pw.ndim == 1:
        pw = np.broadcast_to(pw.reshape(1, -1) if pw.size == 2 else pw.reshape(-1, 1), (ndim, 2))
    elif pw.shape == (1, 2):
        pw = np.broadcast_to(pw, (ndim, 2))
    if pw.shape != (ndim, 2):
        raise ValueError(
            f"pad_width must be an int, a (before, after) pair or {ndim} pairs for a "
            f"rank-{ndim} input. Received: pad_width={pad_width!r}"
        )
    return [(int(a), int(b)) for a, b in pw]


_NUMPY_INDEX_MODES = {"reflect", "symmetric", "edge", "wrap"}


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads like `np.pad` with modes constant, reflect, symmetric, edge and wrap.

    Example:
        >>> kiln.ops.pad(np.ones((2, 2)), ((1, 1), (0, 1))).shape
        torch.Size([4, 3])
    """
    x = convert_to_tensor(x)
    pairs = _pad_pairs(pad_width, x.dim())
    if mode == "constant":
        flat = []
        for before, after in reversed(pairs):
            flat += [before, after]
        value = 0 if constant_values is None else constant_values
        return torch.nn.functional.pad(x, flat, mode="constant", value=value)
    if mode not in _NUMPY_INDEX_MODES:
        raise ValueError(
            f"Unsupported pad mode {mode!r}. Expected one of "
            f"{sorted(_NUMPY_INDEX_MODES | {'constant'})}."
        )
    if constant_values not in (None, 0):
        raise ValueError(f"constant_values only applies to mode='constant'. Received mode={mode!r}.")
    for axis, (before, after) in enumerate(pairs):
        if before or after:
            # The source index of each padded position, as NumPy computes it.
            idx = np.pad(np.arange(x.shape[axis]), (before, after), mode=mode)
            x = torch.index_select(x, axis, torch.as_tensor(idx, device=x.device))
    return x


# -- indexing and sorting ------------------------------------------------------------------


def _wrap_negative(indices, size):
    indices = convert_to_tensor(indices).long()
    return torch.where(indices < 0, indices + size, indices)


def take(x, indices, axis=None):
    """Takes elements at `indices` along `axis` (None: from the flattened array).

    Example:
        >>> kiln.ops.take([[0, 1], [2, 3]], [1, 0], axis=1).tolist()
        [[1, 0], [3, 2]]
    """
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.flatten(), 0
    axis = axis % x.dim()
    idx = _wrap_negative(indices, x.shape[axis]).to(x.device)
    out = torch.index_select(x, axis, idx.flatten())
    return out.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def take_along_axis(x, indices, axis=None):
    """Picks values along `axis` with per-position `indices` (as `np.take_along_axis`)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.flatten(), 0
    idx = _wrap_negative(indices, x.shape[axis]).to(x.device)
    return torch.take_along_dim(x, idx, dim=axis)


def sort(x, axis=-1):
    """Sorts ascending along `axis`."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.flatten(), 0
    return torch.sort(x, dim=axis, stable=True).values


def argsort(x, axis=-1):
    """Indices that sort `x` ascending along `axis` (stable, int32)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.flatten(), 0
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras's name
    """The `k` largest values along the last axis and their int32 indices.

    Example:
        >>> values, indices = kiln.ops.top_k([1.0, 3.0, 2.0], 2)
        >>> values
        tensor([3., 2.])
    """
    x = convert_to_tensor(x)
    values, indices = torch.topk(x, k, dim=-1, largest=True, sorted=sorted)
    return values, indices.to(torch.int32)


def meshgrid(*xs, indexing="xy"):
    """Coordinate matrices from coordinate vectors."""
    return list(torch.meshgrid(*[convert_to_tensor(x) for x in xs], indexing=indexing))


# -- products ------------------------------------------------------------------------------


def matmul(x1, x2):
    """Matrix product with batch broadcasting (`x1 @ x2`)."""
    a, b = _pair(x1, x2)
    if a.dtype == torch.bool:
        return torch.matmul(a.to(torch.int32), b.to(torch.int32)).to(torch.bool)
    return torch.matmul(a, b)


def dot(x1, x2):
    """`np.dot`: scalar product, inner product, or a sum over the last axis of `x1`
    and the second-to-last axis of `x2`."""
    a, b = _pair(x1, x2)
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    if b.dim() == 1:
        return torch.matmul(a, b)
    return torch.tensordot(a, b, dims=([a.dim() - 1], [b.dim() - 2]))


def vdot(x1, x2):
    """Inner product of the flattened arrays."""
    a, b = _pair(x1, x2)
    return torch.dot(a.flatten(), b.flatten())


inner_product = vdot


def inner(x1, x2):
    """Sum product over the last axes."""
    a, b = _pair(x1, x2)
    return torch.inner(a, b)


def outer(x1, x2):
    """Outer product of the flattened arrays."""
    a, b = _pair(x1, x2)
    return torch.outer(a.flatten(), b.flatten())


def tensordot(x1, x2, axes=2):
    """Sum products over the given axes (`np.tensordot`)."""
    a, b = _pair(x1, x2)
    if not isinstance(axes, int):
        axes = [list(ax) if isinstance(ax, (list, tuple)) else [ax] for ax in axes]
    return torch.tensordot(a, b, dims=axes)


def einsum(subscripts, *operands):
    """Einstein summation over operands promoted to a common dtype.

    Example:
        >>> kiln.ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
        torch.Size([2, 4])
    """
    ts = _common(operands)
    if ts and ts[0].dtype == torch.bool:
        ts = [t.to(torch.int32) for t in ts]
    return torch.einsum(subscripts, *ts)


def cross(x1, x2, axis=-1):
    """Cross product of 3-vectors along `axis`."""
    a, b = _pair(x1, x2)
    return torch.linalg.cross(a, b, dim=axis)
