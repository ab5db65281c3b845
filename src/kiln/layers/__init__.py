"""Layers: the building blocks of models. Every layer is a `torch.nn.Module`."""

try:
    from kiln.layers.core.dense import Dense
except ImportError:  # TEMP while helpers build activations
    pass
from kiln.layers.core.input_layer import Input, InputLayer
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

# >>> layers added by helpers: one import line per layer, keep alphabetical within a block
# <<<

__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()] + [
    "Input", "serialize", "deserialize"]

ALL_OBJECTS = {name: obj for name, obj in globals().items()
               if isinstance(obj, type) and issubclass(obj, Layer)}


def serialize(layer):
    """Returns the Keras-format config envelope of `layer`."""
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None, safe_mode=True):
    """Builds a layer from a config envelope (as written by `serialize`)."""
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)
