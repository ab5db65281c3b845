"""Neural-network ops: activation functions, softmax, one-hot encoding and normalization.

Integer inputs are computed in float32. Example:

    >>> kiln.ops.relu([-1.0, 2.0])
    tensor([0., 2.])
"""

import torch
import torch.nn.functional as F

from kiln.core import dtypes
from kiln.ops import core
from kiln.ops.core import _axes, _float, convert_to_tensor


def relu(x):
    """`max(x, 0)` (integer inputs keep their dtype)."""
    return torch.relu(convert_to_tensor(x))


def relu6(x):
    """`min(max(x, 0), 6)` (integer inputs keep their dtype)."""
    return torch.clamp(convert_to_tensor(x), 0, 6)


def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    return torch.sigmoid(_float(x))


def softplus(x):
    """`log(1 + exp(x))`, computed stably."""
    return F.softplus(_float(x))


def softsign(x):
    """`x / (1 + |x|)`."""
    return F.softsign(_float(x))


def silu(x):
    """`x * sigmoid(x)` (also called swish)."""
    return F.silu(_float(x))


swish = silu


def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably."""
    return F.logsigmoid(_float(x))


def leaky_relu(x, negative_slope=0.2):
    """`x` for `x >= 0`, else `negative_slope * x`."""
    return F.leaky_relu(_float(x), negative_slope=negative_slope)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: `relu6(x + 3) / 6`."""
    return F.hardsigmoid(_float(x))


def hard_silu(x):
    """`x * hard_sigmoid(x)` (also called hard swish)."""
    return F.hardswish(_float(x))


hard_swish = hard_silu


def elu(x, alpha=1.0):
    """`x` for `x > 0`, else `alpha * (exp(x) - 1)`."""
    return F.elu(_float(x), alpha=alpha)


def selu(x):
    """Scaled ELU with the self-normalizing constants of Klambauer et al. (2017)."""
    return F.selu(_float(x))


def celu(x, alpha=1.0):
    """`max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return F.celu(_float(x), alpha=alpha)


def gelu(x, approximate=True):
    """Gaussian error linear unit; `approximate=True` (the Keras ops default) uses the
    tanh formula.

    Example:
        >>> kiln.ops.gelu([0.5])
        tensor([0.3457])
    """
    return F.gelu(_float(x), approximate="tanh" if approximate else "none")


def glu(x, axis=-1):
    """Gated linear unit: splits `axis` in halves `a, b` and returns `a * sigmoid(b)`."""
    return F.glu(_float(x), dim=axis)


def hard_tanh(x):
    """`clip(x, -1, 1)` (integer inputs keep their dtype)."""
    return torch.clamp(convert_to_tensor(x), -1, 1)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return F.hardshrink(_float(x), lambd=threshold)


def soft_shrink(x, threshold=0.5):
    """Moves `x` toward 0 by `threshold`, zeroing `|x| <= threshold`."""
    return F.softshrink(_float(x), lambd=threshold)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    return F.tanhshrink(_float(x))


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return F.threshold(_float(x), threshold, default_value)


def sparse_sigmoid(x):
    """0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` in between."""
    x = _float(x)
    return torch.clamp(0.5 * (x + 1.0), 0.0, 1.0)


def sparse_plus(x):
    """0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)^2 / 4` in between."""
    x = _float(x)
    middle = 0.25 * (x + 1.0) ** 2
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, middle, x))


def squareplus(x, b=4):
    """`(x + sqrt(x^2 + b)) / 2`, a smooth ReLU."""
    x = _float(x)
    return (x + torch.sqrt(x * x + b)) / 2


def _over_axes(fn, x, axis):
    x = _float(x)
    compute = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    if axis is None or isinstance(axis, (list, tuple)):
        # Softmax over several axes: move them last, flatten, normalize, undo.
        axes = _axes(axis, x.dim())
        rest = [a for a in range(x.dim()) if a not in axes]
        moved = compute.permute(rest + list(axes))
        flat = moved.reshape(moved.shape[: len(rest)] + (-1,))
        out = fn(flat, dim=-1).reshape(moved.shape)
        inverse = [0] * x.dim()
        for i, a in enumerate(rest + list(axes)):
            inverse[a] = i
        out = out.permute(inverse)
    else:
        out = fn(compute, dim=axis)
    return out.to(x.dtype)


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis` (an int, a tuple, or None for all axes).

    Example:
        >>> kiln.ops.softmax([0.0, 0.0])
        tensor([0.5000, 0.5000])
    """
    return _over_axes(torch.softmax, x, axis)


def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` along `axis`, computed stably."""
    return _over_axes(torch.log_softmax, x, axis)


def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`
    (Martins & Astudillo, 2016): like softmax, but with exact zeros."""
    x = _float(x)
    z = torch.movedim(x, axis, -1)
    z_sorted = torch.sort(z, dim=-1, descending=True).values
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = torch.cumsum(z_sorted, dim=-1)
    in_support = 1 + k * z_sorted > cumulative
    support_size = torch.sum(in_support, dim=-1, keepdim=True)
    tau = (torch.gather(cumulative, -1, support_size - 1) - 1) / support_size.to(z.dtype)
    return torch.movedim(torch.clamp(z - tau, min=0), -1, axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encodes integer labels; negative labels give all-zero rows.

    Example:
        >>> kiln.ops.one_hot([0, 2], 3)
        tensor([[1., 0., 0.],
                [0., 0., 1.]])
    """
    if sparse:
        raise ValueError("kiln has no sparse tensors. Received: sparse=True; pass sparse=False.")
    labels = convert_to_tensor(x).long()
    out = F.one_hot(torch.clamp(labels, min=0), num_classes)
    out = out * (labels >= 0).unsqueeze(-1)
    out = out.to(dtypes.to_torch(dtype or "float32"))
    if axis != -1:
        out = torch.movedim(out, -1, axis)
    return out


def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """Encodes each row of integer labels as one vector with a 1 for every label present."""
    labels = convert_to_tensor(inputs)
    reduce_axis = -2 if axis == -1 else axis
    if labels.dim() == 1:
        labels, reduce_axis = labels.unsqueeze(0), -2
        squeeze = True
    else:
        squeeze = False
    hot = one_hot(labels, num_classes, axis=-1, dtype="float32", sparse=sparse)
    out = torch.amax(hot, dim=reduce_axis).to(dtypes.to_torch(dtype or "float32"))
    return out[0] if squeeze else out


def normalize(x, axis=-1, order=2, epsilon=None):
    """`x / max(norm(x), epsilon)` along `axis`, as Keras's `ops.normalize`."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize() needs an int order >= 1. Received: order={order!r}")
    x = _float(x)
    if x.dim() == 0:
        x = x.unsqueeze(0)
    eps = core.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv_norm = torch.rsqrt(torch.sum(x * x, dim=axis, keepdim=True))
        return x * torch.clamp(inv_norm, max=1.0 / eps)
    norms = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norms, min=eps)


def moments(x, axes, keepdims=False):
    """Mean and population variance of `x` over `axes`."""
    x = _float(x)
    dims = _axes(axes, x.dim())
    var, mean = torch.var_mean(x, dim=dims, keepdim=keepdims, correction=0)
    return mean, var


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, with the statistics
    given for `axis` and broadcast over the other axes."""
    x = _float(x)
    shape = [1] * x.dim()
    shape[axis] = x.shape[axis]

    def expand(v):
        return convert_to_tensor(v, dtype=x.dtype).reshape(shape)

    out = (x - expand(mean)) * torch.rsqrt(expand(variance) + epsilon)
    if scale is not None:
        out = out * expand(scale)
    if offset is not None:
        out = out + expand(offset)
    return out
