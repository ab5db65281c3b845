"""`kiln.activations`: activation functions and their lookup by name.

Example:
    >>> act = kiln.activations.get("relu")
    >>> kiln.activations.serialize(act)
    'relu'
"""

import types

from kiln.activations.activations import (
    celu,
    elu,
    exponential,
    gelu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    linear,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    swish,
    tanh,
    tanh_shrink,
    threshold,
)

__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "celu",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
]

# Built-in activations by their canonical name (the name they serialize to).
ALL_OBJECTS = {
    fn.__name__: fn
    for fn in (
        relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus,
        soft_shrink, sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid,
        sparse_sigmoid, exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink, linear,
        mish, log_softmax, log_sigmoid, sparsemax,
    )
}
# Every accepted string name, aliases included.
ALL_OBJECTS_DICT = {**ALL_OBJECTS, "swish": silu, "hard_swish": hard_silu}

_BUILTIN_IDS = {id(fn) for fn in ALL_OBJECTS.values()}


def serialize(activation):
    """Returns the name of a built-in activation (`"relu"`), else a Keras config dict.

    Example:
        >>> kiln.activations.serialize(kiln.activations.swish)
        'silu'
    """
    if isinstance(activation, types.FunctionType) and id(activation) in _BUILTIN_IDS:
        return activation.__name__
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(activation)


def deserialize(config, custom_objects=None):
    """Returns the activation a name or a config dict refers to.

    Example:
        >>> kiln.activations.deserialize("gelu") is kiln.activations.gelu
        True
    """
    if isinstance(config, str) and config in ALL_OBJECTS_DICT and not custom_objects:
        return ALL_OBJECTS_DICT[config]
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Resolves None (→ `linear`), a name, a config dict or a callable to an activation.

    Example:
        >>> kiln.activations.get(None) is kiln.activations.linear
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = ALL_OBJECTS_DICT.get(identifier)
        if fn is None:
            raise ValueError(
                f"Unknown activation {identifier!r}. Expected one of "
                f"{sorted(ALL_OBJECTS_DICT)}, or a callable."
            )
        return fn
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret activation identifier {identifier!r}: expected None, a name, "
        "a config dict or a callable."
    )
