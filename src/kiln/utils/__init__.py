"""Utilities (`kiln.utils`): seeds, custom-object scopes, naming, summaries."""

from kiln.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from kiln.saving.serialization import deserialize_keras_object, serialize_keras_object
from kiln.utils.naming import to_snake_case
from kiln.utils.progbar import Progbar

__all__ = [
    "CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
    "get_registered_object", "register_keras_serializable", "serialize_keras_object",
    "deserialize_keras_object", "set_random_seed", "clear_session", "to_snake_case", "Progbar",
]


def set_random_seed(seed):
    """Seeds Python's `random`, NumPy and torch (and kiln's own generators)."""
    from kiln.utils import random_seed

    random_seed.set_random_seed(seed)


def clear_session():
    """Resets automatic layer names (`dense`, `dense_1`, ... start again)."""
    from kiln.utils import naming

    naming.reset_uids()
