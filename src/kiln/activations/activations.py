"""Built-in activation functions, with Keras's names, arguments and defaults.

Each takes a tensor-like and returns a torch tensor. `softmax` and `sigmoid` remember their
input on the output as `_keras_logits`, so losses can recover the logits as Keras does.

Example:
    >>> kiln.activations.relu([-2.0, 1.0, 8.0], max_value=6.0)
    tensor([0., 1., 6.])
"""

import torch

from kiln.ops import core, nn, numpy as np_ops


def _remember_logits(output, x):
    try:
        output._keras_logits = x
    except AttributeError:  # pragma: no cover - torch tensors accept attributes
        pass
    return output


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, optionally leaky, capped and shifted.

    Returns `max_value` for `x >= max_value`, `x` for `threshold <= x < max_value`, and
    `negative_slope * (x - threshold)` below the threshold.

    Example:
        >>> kiln.activations.relu([-10.0, 5.0], negative_slope=0.5)
        tensor([-5.,  5.])
    """
    x = core.convert_to_tensor(x)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return torch.relu(x)
    if threshold != 0:
        out = torch.where(x > threshold, x, torch.zeros_like(x))
    else:
        out = torch.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0, max_value)
    if negative_slope != 0:
        out = out - negative_slope * torch.relu(threshold - x)
    return out


def leaky_relu(x, negative_slope=0.2):
    """`x` for `x >= 0`, else `negative_slope * x`."""
    return nn.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """`min(max(x, 0), 6)`."""
    return nn.relu6(x)


def softmax(x, axis=-1):
    """Normalized exponentials along `axis`; the output's entries sum to 1 along `axis`.

    Example:
        >>> kiln.activations.softmax([[1.0, 1.0]])
        tensor([[0.5000, 0.5000]])
    """
    x = core.convert_to_tensor(x)
    return _remember_logits(nn.softmax(x, axis=axis), x)


def log_softmax(x, axis=-1):
    """`log(softmax(x))`, computed stably."""
    return nn.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    """`x` for `x > 0`, else `alpha * (exp(x) - 1)`."""
    return nn.elu(x, alpha=alpha)


def selu(x):
    """Scaled exponential linear unit (use with `lecun_normal` initialization)."""
    return nn.selu(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU."""
    return nn.celu(x, alpha=alpha)


def softplus(x):
    """`log(exp(x) + 1)`."""
    return nn.softplus(x)


def softsign(x):
    """`x / (abs(x) + 1)`."""
    return nn.softsign(x)


def soft_shrink(x, threshold=0.5):
    """Shrinks `x` toward zero by `threshold`."""
    return nn.soft_shrink(x, threshold=threshold)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return nn.hard_shrink(x, threshold=threshold)


def sparse_plus(x):
    """A piecewise-quadratic softplus."""
    return nn.sparse_plus(x)


def squareplus(x, b=4):
    """`(x + sqrt(x^2 + b)) / 2`."""
    return nn.squareplus(x, b=b)


def silu(x):
    """`x * sigmoid(x)`, also known as swish."""
    return nn.silu(x)


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit. Unlike `kiln.ops.gelu`, the exact form is the default
    here, as in `keras.activations.gelu`."""
    return nn.gelu(x, approximate=approximate)


def glu(x, axis=-1):
    """Gated linear unit over `axis` (whose size must be even)."""
    return nn.glu(x, axis=axis)


def tanh(x):
    """Hyperbolic tangent."""
    return np_ops.tanh(x)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    return nn.tanh_shrink(x)


def hard_tanh(x):
    """`clip(x, -1, 1)`."""
    return nn.hard_tanh(x)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return nn.threshold(x, threshold, default_value)


def sigmoid(x):
    """`1 / (1 + exp(-x))`.

    Example:
        >>> kiln.activations.sigmoid([0.0])
        tensor([0.5000])
    """
    x = core.convert_to_tensor(x)
    return _remember_logits(nn.sigmoid(x), x)


def sparse_sigmoid(x):
    """0 below -1, 1 above 1, linear in between."""
    return nn.sparse_sigmoid(x)


def hard_sigmoid(x):
    """`relu6(x + 3) / 6`."""
    return nn.hard_sigmoid(x)


def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably."""
    return nn.log_sigmoid(x)


def hard_silu(x):
    """`x * hard_sigmoid(x)`, also known as hard swish."""
    return nn.hard_silu(x)


hard_swish = hard_silu


def exponential(x):
    """`exp(x)`."""
    return np_ops.exp(x)


def linear(x):
    """The identity: returns `x` unchanged."""
    return x


def mish(x):
    """`x * tanh(softplus(x))` (Misra, 2019)."""
    x = core._float(x)
    return x * torch.tanh(nn.softplus(x))


def sparsemax(x, axis=-1):
    """Projection onto the probability simplex: a softmax with exact zeros."""
    return nn.sparsemax(x, axis=axis)


def activate_new_tensor(activation, x):
    """`activation(x)` for a tensor a layer has just computed and shares with nobody.

    Outside autograd, `relu` then rectifies `x` in place instead of allocating another
    tensor of its size; `linear` returns `x` as it is. Layers call this on the fresh
    output of their matmul or convolution (Dense and the Conv layers).
    """
    if activation is linear:
        return x
    if activation is relu and not x.requires_grad:
        return x.relu_()
    return activation(x)
