"""Hinge losses (functions and their `Loss` classes, grouped as in Keras)."""

import torch

from kiln.losses._common import to_tensor
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper


def _hinge_inputs(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    return to_tensor(y_true, y_pred.dtype, device=y_pred.device), y_pred


def convert_binary_labels_to_hinge(y_true):
    """Maps labels to -1/1 when all of them are 0 or 1; otherwise returns them unchanged."""
    is_binary = torch.all((y_true == 0) | (y_true == 1))
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """Mean over the last axis of `max(1 - y_true * y_pred, 0)`; 0/1 labels become -1/1.

    Example:
        >>> kiln.losses.hinge([[1.0, 0.0]], [[0.5, -2.0]])
        tensor([0.2500])
    """
    y_true, y_pred = _hinge_inputs(y_true, y_pred)
    y_true = convert_binary_labels_to_hinge(y_true)
    return torch.mean(torch.clamp(1.0 - y_true * y_pred, min=0.0), dim=-1)


def squared_hinge(y_true, y_pred):
    """Mean over the last axis of `max(1 - y_true * y_pred, 0) ** 2`.

    Example:
        >>> kiln.losses.squared_hinge([[1.0, 0.0]], [[0.5, -2.0]])
        tensor([0.1250])
    """
    y_true, y_pred = _hinge_inputs(y_true, y_pred)
    y_true = convert_binary_labels_to_hinge(y_true)
    return torch.mean(torch.square(torch.clamp(1.0 - y_true * y_pred, min=0.0)), dim=-1)


def categorical_hinge(y_true, y_pred):
    """`max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)` over the last axis.

    Example:
        >>> kiln.losses.categorical_hinge([[0.0, 1.0]], [[0.3, 0.6]])
        tensor([0.7000])
    """
    y_true, y_pred = _hinge_inputs(y_true, y_pred)
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


class Hinge(LossFunctionWrapper):
    """Hinge loss (see `hinge`).

    Example:
        >>> kiln.losses.Hinge()([[1.0, 0.0]], [[0.5, -2.0]])
        tensor(0.2500)
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss (see `squared_hinge`).

    Example:
        >>> kiln.losses.SquaredHinge()([[1.0, 0.0]], [[0.5, -2.0]])
        tensor(0.1250)
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss (see `categorical_hinge`).

    Example:
        >>> kiln.losses.CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.6]])
        tensor(0.7000)
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
