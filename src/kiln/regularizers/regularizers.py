"""Weight regularizers: L1, L2, L1L2 and OrthogonalRegularizer.

A regularizer maps a weight tensor to a scalar penalty that is added to the loss.

Example:
    >>> kiln.regularizers.L2(0.1)(kiln.ops.ones((2, 2)))
    tensor(0.4000)
"""

import math

import numpy as np
import torch

from kiln.ops import nn as nn_ops
from kiln.ops.core import convert_to_tensor


def validate_float_arg(value, name):
    """Returns `value` as a float, or raises if it is not a finite non-negative number."""
    if (not isinstance(value, (int, float)) or math.isinf(value) or math.isnan(value)
            or value < 0):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative finite float. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _float32(value):
    # Keras keeps these factors as float32 tensors, so their configs hold the
    # float32-rounded value (0.01 → 0.009999999776482582); kiln stores the same number.
    return float(np.float32(value))


class Regularizer:
    """Base class for regularizers: `regularizer(x)` returns a scalar penalty tensor.

    Subclasses implement `__call__` and `get_config`.

    Example:
        >>> class Sum(kiln.regularizers.Regularizer):
        ...     def __call__(self, x):
        ...         return 0.1 * kiln.ops.sum(x)
        ...     def get_config(self):
        ...         return {}
    """

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_config(). Return its constructor "
            "arguments as a dict so it can be saved."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x^2)`.

    Example:
        >>> kiln.regularizers.L1L2(l1=0.1, l2=0.1)(kiln.ops.ones((2,)))
        tensor(0.4000)
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, "l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = convert_to_tensor(x)
        penalty = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + torch.tensor(self.l1, dtype=x.dtype) * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + torch.tensor(self.l2, dtype=x.dtype) * torch.sum(torch.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """`l1 * sum(|x|)`; the string `"l1"` gives `l1=0.01`."""

    def __init__(self, l1=0.01):
        self.l1 = _float32(validate_float_arg(0.01 if l1 is None else l1, "l1"))

    def __call__(self, x):
        x = convert_to_tensor(x)
        return torch.tensor(self.l1, dtype=x.dtype) * torch.sum(torch.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x^2)`; the string `"l2"` gives `l2=0.01`."""

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = convert_to_tensor(x)
        return torch.tensor(self.l2, dtype=x.dtype) * torch.sum(torch.square(x))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (`mode="rows"`) or columns of a 2-D weight.

    The penalty is `factor / 2` times the mean absolute cosine similarity over all pairs
    of distinct rows (or columns).

    Example:
        >>> kiln.regularizers.OrthogonalRegularizer(factor=1.0)(kiln.ops.eye(3))
        tensor(0.)
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(validate_float_arg(factor, "factor"))
        if mode not in ("rows", "columns"):
            raise ValueError(
                f"OrthogonalRegularizer `mode` must be 'rows' or 'columns'. Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, inputs):
        x = convert_to_tensor(inputs)
        if x.dim() != 2:
            raise ValueError(
                f"OrthogonalRegularizer needs a rank-2 weight; received shape {tuple(x.shape)}. "
                "Apply it to Dense-style kernels only."
            )
        if self.mode == "rows":
            x = nn_ops.normalize(x, axis=1)
            product, size = x @ x.T, x.shape[0]
        else:
            x = nn_ops.normalize(x, axis=0)
            product, size = x.T @ x, x.shape[1]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        num_pairs = size * (size - 1.0) / 2.0
        factor = torch.tensor(self.factor, dtype=torch.float32)
        return factor * 0.5 * torch.sum(torch.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}
