"""Weight constraints: projections applied to a variable after each optimizer update.

Example:
    >>> kiln.constraints.NonNeg()([-1.0, 2.0])
    tensor([0., 2.])
"""

import torch

from kiln.ops.core import convert_to_tensor, epsilon


def _norms(w, axis):
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(torch.square(w), dim=dims, keepdim=True))


def _float(w):
    w = convert_to_tensor(w)
    return w if w.is_floating_point() else w.to(torch.float32)


class Constraint:
    """Base class: `constraint(w)` returns the projected weight (here: `w` unchanged).

    Example:
        >>> class Clip(kiln.constraints.Constraint):
        ...     def __call__(self, w):
        ...         return kiln.ops.clip(w, -1.0, 1.0)
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescales slices along `axis` whose L2 norm exceeds `max_value` down to `max_value`.

    For a Dense kernel `(input_dim, units)`, `axis=0` constrains each unit's incoming
    weights; for a Conv2D kernel use `axis=[0, 1, 2]`.

    Example:
        >>> kiln.constraints.MaxNorm(1.0)([[3.0], [4.0]])
        tensor([[0.6000],
                [0.8000]])
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _float(w)
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Replaces negative weights by zero."""

    def __call__(self, w):
        w = convert_to_tensor(w)
        return torch.clamp(w, min=0)


class UnitNorm(Constraint):
    """Rescales slices along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _float(w)
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves slice norms along `axis` toward `[min_value, max_value]`.

    The new norm is `rate * clip(norm, min_value, max_value) + (1 - rate) * norm`, so
    `rate=1.0` enforces the bounds strictly and smaller rates approach them gradually.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _float(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * torch.clamp(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}
