"""`kiln.constraints`: weight projections and their lookup by name.

Example:
    >>> kiln.constraints.get("non_neg")([-1.0, 1.0])
    tensor([0., 1.])
"""

from kiln.constraints.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm

# Keras's lowercase aliases.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

# Public class name → class (what `{"class_name": "MaxNorm"}` resolves to).
ALL_OBJECTS = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
# Every accepted name: class names and Keras's snake_case names.
ALL_OBJECTS_DICT = {
    **ALL_OBJECTS,
    "constraint": Constraint,
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}

__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]


def serialize(constraint):
    """Returns the Keras config dict of a constraint."""
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """Creates a constraint from a config dict written by `serialize` (or Keras)."""
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Resolves None, a name (`"max_norm"`, `"MaxNorm"`), a config dict, a class, an
    instance or a callable to a constraint.

    Example:
        >>> kiln.constraints.get("max_norm").get_config()
        {'max_value': 2, 'axis': 0}
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier)
        if cls is None:
            raise ValueError(
                f"Unknown constraint {identifier!r}. Expected one of {sorted(ALL_OBJECTS_DICT)}, "
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
        f"Could not interpret constraint identifier {identifier!r}: expected None, a name, "
        "a config dict or a callable."
    )
