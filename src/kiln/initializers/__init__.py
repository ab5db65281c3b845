"""`kiln.initializers`: objects that fill new variables, and their lookup by name.

Example:
    >>> init = kiln.initializers.get("glorot_uniform")
    >>> init((3, 4)).shape
    torch.Size([3, 4])
"""

import numpy as np
import torch

from kiln.initializers.constant_initializers import (
    Constant,
    Identity,
    IdentityInitializer,
    Ones,
    Zeros,
)
from kiln.initializers.initializer import Initializer
from kiln.initializers.random_initializers import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    OrthogonalInitializer,
    RandomInitializer,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    compute_fans,
)
from kiln.utils.naming import to_snake_case

# Keras's lowercase function-style aliases (`keras.initializers.glorot_uniform`, ...).
constant, identity, ones, zeros = Constant, Identity, Ones, Zeros
glorot_normal, glorot_uniform = GlorotNormal, GlorotUniform
he_normal, he_uniform = HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform
orthogonal, random_normal, random_uniform = Orthogonal, RandomNormal, RandomUniform
truncated_normal, variance_scaling = TruncatedNormal, VarianceScaling

_CLASSES = (
    Initializer, Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal,
    HeUniform, LecunNormal, LecunUniform, Orthogonal, RandomNormal, RandomUniform,
    TruncatedNormal, VarianceScaling,
)
# Public class name → class (what `{"class_name": "GlorotUniform"}` resolves to).
ALL_OBJECTS = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS["IdentityInitializer"] = Identity
ALL_OBJECTS["OrthogonalInitializer"] = Orthogonal
# Every accepted name: class names, their snake_case forms and Keras's short aliases.
ALL_OBJECTS_DICT = {
    **ALL_OBJECTS,
    **{to_snake_case(cls.__name__): cls for cls in _CLASSES},
    "normal": RandomNormal,
    "uniform": RandomUniform,
    "one": Ones,
    "zero": Zeros,
}

__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomInitializer",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]


def serialize(initializer):
    """Returns the Keras config dict of an initializer (`{"module", "class_name", ...}`)."""
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """Creates an initializer from a config dict written by `serialize` (or Keras)."""
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def _fixed_value(value):
    value = value.detach() if isinstance(value, torch.Tensor) else value

    def initialize_fn(shape, dtype=None):
        from kiln.ops import cast

        if tuple(int(d) for d in shape) != tuple(value.shape):
            raise ValueError(
                f"This initializer is a fixed array of shape {tuple(value.shape)}, but it was "
                f"asked for shape {tuple(shape)}. Pass an array of the variable's shape."
            )
        return cast(value, dtype or "float32")

    return initialize_fn


def get(identifier):
    """Resolves an identifier to an initializer.

    Accepts None (returns None), a name (`"he_normal"`, `"HeNormal"`), a config dict, an
    `Initializer` class or instance, a callable `fn(shape, dtype=None)`, or a fixed array.

    Example:
        >>> kiln.initializers.get("zeros")((2,))
        tensor([0., 0.])
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier)
        if cls is None:
            raise ValueError(
                f"Unknown initializer {identifier!r}. Expected one of "
                f"{sorted(ALL_OBJECTS_DICT)}, a config dict or a callable."
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, (torch.Tensor, np.ndarray, np.generic)):
        return _fixed_value(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret initializer identifier {identifier!r}: expected None, a name, "
        "a config dict, a callable or an array."
    )
