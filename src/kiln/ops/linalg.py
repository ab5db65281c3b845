"""Linear algebra and a few math ops that are not elementwise.

Example:
    >>> kiln.ops.norm([3.0, 4.0])
    tensor(5.)
"""

import torch

from kiln.ops.core import _axes, _float, convert_to_tensor


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    """Vector or matrix norm, with `np.linalg.norm`'s meaning of `ord` and `axis`.

    With `axis=None` and `ord=None` this is the 2-norm of the flattened array.

    Example:
        >>> kiln.ops.norm([[1.0, 2.0], [3.0, 4.0]], ord="fro")
        tensor(5.4772)
    """
    x = _float(x)
    if axis is None:
        if ord is None:
            out = torch.linalg.vector_norm(x.flatten(), ord=2)
            return out.reshape((1,) * x.dim()) if keepdims else out
        if x.dim() not in (1, 2):
            raise ValueError(
                f"norm() with ord={ord!r} needs a 1-D or 2-D input when axis=None; received "
                f"shape {tuple(x.shape)}. Pass `axis` explicitly."
            )
        axis = tuple(range(x.dim()))
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, int):
        return torch.linalg.vector_norm(x, ord=2 if ord is None else ord, dim=axis, keepdim=keepdims)
    axis = _axes(axis, x.dim())
    if len(axis) != 2:
        raise ValueError(f"norm() expects one or two axes. Received: axis={axis}")
    return torch.linalg.matrix_norm(x, ord="fro" if ord is None else ord, dim=axis, keepdim=keepdims)


def qr(x, mode="reduced"):
    """QR decomposition; returns `(q, r)`."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr() mode must be 'reduced' or 'complete'. Received: mode={mode!r}")
    return tuple(torch.linalg.qr(_float(x), mode=mode))


def det(x):
    """Determinant of square matrices (batched over leading axes)."""
    return torch.linalg.det(_float(x))


def inv(x):
    """Inverse of square matrices (batched over leading axes)."""
    return torch.linalg.inv(_float(x))


def solve(a, b):
    """Solves `a @ x = b` for `x`."""
    return torch.linalg.solve(_float(a), _float(b))


def cholesky(x):
    """Lower-triangular Cholesky factor of a symmetric positive-definite matrix."""
    return torch.linalg.cholesky(_float(x))


def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over `axis`, computed stably.

    Example:
        >>> kiln.ops.logsumexp([1.0, 2.0])
        tensor(2.3133)
    """
    x = _float(x)
    if x.dim() == 0:
        return x
    return torch.logsumexp(x, dim=_axes(axis, x.dim()), keepdim=keepdims)


def in_top_k(targets, predictions, k):
    """True where `targets[i]` is among the `k` largest entries of `predictions[i]`."""
    targets = convert_to_tensor(targets).long()
    predictions = convert_to_tensor(predictions)
    target_values = torch.gather(predictions, 1, targets.unsqueeze(1))
    # Count entries strictly larger than the target; ties count in the target's favour.
    larger = torch.sum(predictions > target_values, dim=1)
    return larger < k


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums the rows of `data` that share a segment id."""
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids).long()
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    out = torch.zeros((num_segments,) + tuple(data.shape[1:]), dtype=data.dtype)
    keep = (ids >= 0) & (ids < num_segments)
    return out.index_add(0, ids[keep], data[keep])


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Maximum of the rows of `data` that share a segment id (empty segments: the dtype's min)."""
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids).long()
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    shape = (num_segments,) + tuple(data.shape[1:])
    if data.is_floating_point():
        lowest = torch.finfo(data.dtype).min
    else:
        lowest = torch.iinfo(data.dtype).min
    out = torch.full(shape, lowest, dtype=data.dtype)
    keep = (ids >= 0) & (ids < num_segments)
    index = ids[keep].reshape((-1,) + (1,) * (data.dim() - 1)).expand_as(data[keep])
    return out.scatter_reduce(0, index, data[keep], reduce="amax", include_self=True)
