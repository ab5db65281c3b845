"""Overlap losses for segmentation masks: Dice and Tversky (functions and classes)."""

import torch

from kiln.losses._common import epsilon, to_tensor
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper


def _sum(x, axis):
    if axis is None:
        return torch.sum(x)
    return torch.sum(x, dim=tuple(axis) if isinstance(axis, (list, tuple)) else axis)


def _inputs(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    return to_tensor(y_true, y_pred.dtype, device=y_pred.device), y_pred


def dice(y_true, y_pred, axis=None):
    """`1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))`, summed over `axis`.

    `axis=None` sums over everything (one value for the whole batch).

    Example:
        >>> kiln.losses.dice([[1.0, 0.0]], [[1.0, 1.0]])
        tensor(0.3333)
    """
    y_true, y_pred = _inputs(y_true, y_pred)
    intersection = _sum(y_true * y_pred, axis)
    score = 2.0 * intersection / (_sum(y_true, axis) + _sum(y_pred, axis) + epsilon())
    return 1 - score


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """`1 - TP / (TP + alpha * FP + beta * FN)` with soft counts summed over `axis`.

    Example:
        >>> kiln.losses.tversky([[1.0, 0.0]], [[1.0, 1.0]])
        tensor(0.3333)
    """
    y_true, y_pred = _inputs(y_true, y_pred)
    intersection = _sum(y_true * y_pred, axis)
    fp = _sum((1 - y_pred) * y_true, axis)
    fn = _sum(y_pred * (1 - y_true), axis)
    score = intersection / (intersection + fp * alpha + fn * beta + epsilon())
    return 1 - score


class Dice(LossFunctionWrapper):
    """Dice loss (see `dice`).

    Example:
        >>> kiln.losses.Dice()([[1.0, 0.0]], [[1.0, 1.0]])
        tensor(0.3333)
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


class Tversky(LossFunctionWrapper):
    """Tversky loss (see `tversky`); `alpha=beta=0.5` equals Dice.

    Example:
        >>> kiln.losses.Tversky(alpha=0.5, beta=0.5)([[1.0, 0.0]], [[1.0, 1.0]])
        tensor(0.3333)
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, name=name, reduction=reduction, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}
