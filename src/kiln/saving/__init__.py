"""kiln.saving — the centre of kiln: configs, `.keras` archives and weight files.

Layout of this package:
- object_registration.py   the custom-object registry and scopes
- builtin_objects.py       kiln's built-in classes and their Keras names
- serialization.py         objects ⇄ config envelopes (Keras 3 format)
- serialization_safety.py  the pre-construction audit and safe mode
- saving_api.py            save_model / load_model / save_weights / load_weights dispatch
- keras_archive.py         the `.keras` zip: writing and loading whole models
- weights_walk.py          the object traversal that names every weight (file format §4.2)
- h5_store.py, zip_archive.py, safetensors_store.py, atomic.py, json_utils.py   raw I/O
- legacy_h5.py             Keras 2 / tf.keras `.h5` files
"""

from kiln.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from kiln.saving.serialization import deserialize_keras_object, serialize_keras_object

__all__ = [
    "CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
    "get_registered_object", "register_keras_serializable", "serialize_keras_object",
    "deserialize_keras_object", "save_model", "load_model", "save_weights", "load_weights",
]


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Saves a whole model; the format follows the file name (see `saving_api`).

    Example:
        >>> kiln.saving.save_model(model, "mlp.keras")
    """
    from kiln.saving import saving_api

    return saving_api.save_model(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved with `model.save()`.

    Example:
        >>> restored = kiln.saving.load_model("mlp.keras")
    """
    from kiln.saving import saving_api

    return saving_api.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode)


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    from kiln.saving import saving_api

    return saving_api.save_weights(model, filepath, overwrite=overwrite,
                                   max_shard_size=max_shard_size, **kwargs)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    from kiln.saving import saving_api

    return saving_api.load_weights(model, filepath, skip_mismatch=skip_mismatch, **kwargs)
