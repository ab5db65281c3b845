"""Regression losses: functions and their `Loss` classes.

Each class here is a three-line binding of a function to `LossFunctionWrapper`, so
the family lives in one file (as in Keras) instead of one file per class: the
function and the class that wraps it are read together.
"""

import math

import torch
import torch.nn.functional as F

from kiln.losses._common import epsilon, to_tensor
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper
from kiln.losses.reduction import squeeze_or_expand_to_same_rank


def _pair(y_true, y_pred):
    """Converts both to tensors of `y_pred`'s float dtype and aligns their ranks."""
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    y_true = to_tensor(y_true, y_pred.dtype, device=y_pred.device)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def l2_normalize(x, axis=-1):
    """`x / max(||x||, epsilon)` along `axis` (Keras's `ops.normalize` rule)."""
    inv_norm = torch.rsqrt(torch.sum(x * x, dim=axis, keepdim=True))
    return x * torch.clamp(inv_norm, max=1.0 / epsilon())


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of `(y_true - y_pred) ** 2`.

    Example:
        >>> kiln.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
        tensor([0.5000])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of `abs(y_true - y_pred)`.

    Example:
        >>> kiln.losses.mean_absolute_error([[0.0, 1.0]], [[1.0, 3.0]])
        tensor([1.5000])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """`100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)))` over the last axis.

    Example:
        >>> kiln.losses.mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]])
        tensor([25.])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=epsilon()))
    return 100.0 * torch.mean(diff, dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of `(log(y_pred + 1) - log(y_true + 1)) ** 2`.

    Inputs are clipped below at epsilon first.

    Example:
        >>> kiln.losses.mean_squared_logarithmic_error([[0.0]], [[math.e - 1]])
        tensor([1.0000])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    eps = epsilon()
    first = torch.log(torch.clamp(y_pred, min=eps) + 1.0)
    second = torch.log(torch.clamp(y_true, min=eps) + 1.0)
    return torch.mean(torch.square(first - second), dim=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity along `axis` (-1 means the vectors point the same way).

    Example:
        >>> kiln.losses.cosine_similarity([[1.0, 0.0]], [[2.0, 0.0]])
        tensor([-1.])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return -torch.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), dim=axis)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss: quadratic for errors up to `delta`, linear beyond, mean over the last axis.

    Example:
        >>> kiln.losses.huber([[0.0, 0.0]], [[0.5, 3.0]])
        tensor([1.3125])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = torch.abs(error)
    delta = float(delta)
    quadratic = 0.5 * torch.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return torch.mean(torch.where(abs_error <= delta, quadratic, linear), dim=-1)


def log_cosh(y_true, y_pred):
    """Mean over the last axis of `log(cosh(y_pred - y_true))`, computed without overflow.

    Example:
        >>> kiln.losses.log_cosh([[0.0]], [[1.0]])
        tensor([0.4338])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return torch.mean(x + F.softplus(-2.0 * x) - math.log(2.0), dim=-1)


# -- classes -------------------------------------------------------------------------


class _SimpleWrapper(LossFunctionWrapper):
    """A wrapper whose config is just `name` and `reduction` (like Keras's)."""

    def get_config(self):
        return Loss.get_config(self)


class MeanSquaredError(_SimpleWrapper):
    """Mean of squares of errors between labels and predictions.

    Example:
        >>> kiln.losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])
        tensor(0.5000)
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(_SimpleWrapper):
    """Mean of absolute errors between labels and predictions.

    Example:
        >>> kiln.losses.MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 3.0]])
        tensor(1.5000)
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsolutePercentageError(_SimpleWrapper):
    """Mean absolute percentage error (see `mean_absolute_percentage_error`).

    Example:
        >>> kiln.losses.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]])
        tensor(25.)
    """

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction,
                         dtype=dtype)


class MeanSquaredLogarithmicError(_SimpleWrapper):
    """Mean squared logarithmic error (see `mean_squared_logarithmic_error`).

    Example:
        >>> kiln.losses.MeanSquaredLogarithmicError()([[0.0]], [[math.e - 1]])
        tensor(1.0000)
    """

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction,
                         dtype=dtype)


class CosineSimilarity(_SimpleWrapper):
    """Negative cosine similarity along `axis` (see `cosine_similarity`).

    Example:
        >>> kiln.losses.CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]])
        tensor(-1.)
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype,
                         axis=axis)


class Huber(_SimpleWrapper):
    """Huber loss with threshold `delta` (see `huber`).

    Example:
        >>> kiln.losses.Huber(delta=1.0)([[0.0, 0.0]], [[0.5, 3.0]])
        tensor(1.3125)
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)


class LogCosh(_SimpleWrapper):
    """Logarithm of the hyperbolic cosine of the prediction error.

    Example:
        >>> kiln.losses.LogCosh()([[0.0]], [[1.0]])
        tensor(0.4338)
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)
