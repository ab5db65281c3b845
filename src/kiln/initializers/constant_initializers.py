"""Deterministic initializers: Zeros, Ones, Constant and Identity."""

import numbers

import torch

from kiln.core import dtypes
from kiln.initializers.initializer import Initializer


def _dtype(dtype):
    return dtypes.to_torch(dtypes.standardize(dtype) or "float32")


def _shape(shape):
    return tuple(int(d) for d in shape)


class Zeros(Initializer):
    """Fills with 0.

    Example:
        >>> kiln.initializers.Zeros()((2,))
        tensor([0., 0.])
    """

    def __call__(self, shape, dtype=None):
        return torch.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """Fills with 1.

    Example:
        >>> kiln.initializers.Ones()((2,), dtype="int32")
        tensor([1, 1], dtype=torch.int32)
    """

    def __call__(self, shape, dtype=None):
        return torch.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Fills with `value` (a scalar, or an array that broadcasts to the shape).

    Example:
        >>> kiln.initializers.Constant(0.5)((2,))
        tensor([0.5000, 0.5000])
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        from kiln.ops import convert_to_tensor

        tdtype = _dtype(dtype)
        value = convert_to_tensor(self.value, dtype=tdtype)
        return value * torch.ones(_shape(shape), dtype=tdtype)

    def get_config(self):
        value = self.value
        if not isinstance(value, (numbers.Number, str)) and value is not None:
            from kiln.saving import serialize_keras_object

            value = serialize_keras_object(value)
        return {"value": value}

    @classmethod
    def from_config(cls, config):
        value = config["value"]
        if isinstance(value, dict):
            from kiln.saving import deserialize_keras_object

            value = deserialize_keras_object(value)
        return cls(value)


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only; non-square gives a rectangular
    identity).

    Keras 3.15 leaves `gain` out of the config; kiln writes it only when it is not 1.0,
    so default configs are identical and a non-default gain survives a save.

    Example:
        >>> kiln.initializers.Identity(gain=2.0)((2, 2))
        tensor([[2., 0.],
                [0., 2.]])
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                f"Identity initializer needs a 2-D shape; received shape={shape} of rank "
                f"{len(shape)}. Use it for square or rectangular matrices only."
            )
        tdtype = _dtype(dtype)
        return self.gain * torch.eye(shape[0], shape[1], dtype=tdtype)

    def get_config(self):
        return {} if self.gain == 1.0 else {"gain": self.gain}


IdentityInitializer = Identity
