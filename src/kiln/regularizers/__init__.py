"""`kiln.regularizers`: weight penalties and their lookup by name.

Example:
    >>> reg = kiln.regularizers.get("l2")
    >>> reg.get_config()
    {'l2': 0.01}
"""

from kiln.regularizers.regularizers import (
    L1,
    L1L2,
    L2,
    OrthogonalRegularizer,
    Regularizer,
)

# Keras's lowercase aliases.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

# Public class name → class (what `{"class_name": "L2"}` resolves to).
ALL_OBJECTS = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)}
# Every accepted name: class names and Keras's snake_case names.
ALL_OBJECTS_DICT = {
    **ALL_OBJECTS,
    "regularizer": Regularizer,
    "l1": L1,
    "l2": L2,
    "l1_l2": L1L2,
    "l1l2": L1L2,  # what Keras's snake_case rule makes of "L1L2"
    "orthogonal_regularizer": OrthogonalRegularizer,
}

__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "L1",
    "L1L2",
    "L2",
    "OrthogonalRegularizer",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "orthogonal_regularizer",
    "serialize",
]


def serialize(regularizer):
    """Returns the Keras config dict of a regularizer."""
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """Creates a regularizer from a config dict written by `serialize` (or Keras)."""
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Resolves None, a name (`"l1"`, `"L1L2"`), a config dict, a class, an instance or a
    callable to a regularizer.

    Example:
        >>> kiln.regularizers.get("l1_l2").get_config()
        {'l1': 0.0, 'l2': 0.0}
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier)
        if cls is None:
            raise ValueError(
                f"Unknown regularizer {identifier!r}. Expected one of {sorted(ALL_OBJECTS_DICT)}, "
                "a config dict or a callable."
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret regularizer identifier {identifier!r}: expected None, a name, "
        "a config dict or a callable."
    )
