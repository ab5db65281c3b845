"""Optimizers: `kiln.optimizers` (Keras 3's `keras.optimizers` on PyTorch).

Every optimizer updates `kiln.Variable`s in place with multi-tensor torch kernels and
keeps its state in `optimizer.variables`, in exactly Keras 3's order, so that weight
files move between kiln and Keras with their optimizer state.
"""

from kiln.optimizers import schedules
from kiln.optimizers.adadelta import Adadelta
from kiln.optimizers.adagrad import Adagrad
from kiln.optimizers.adam import Adam
from kiln.optimizers.adamax import Adamax
from kiln.optimizers.adamw import AdamW
from kiln.optimizers.ftrl import Ftrl
from kiln.optimizers.lion import Lion
from kiln.optimizers.nadam import Nadam
from kiln.optimizers.optimizer import Optimizer
from kiln.optimizers.rmsprop import RMSprop
from kiln.optimizers.sgd import SGD

__all__ = [
    "Optimizer",
    "Adadelta",
    "Adagrad",
    "Adam",
    "Adamax",
    "AdamW",
    "Ftrl",
    "Lion",
    "Nadam",
    "RMSprop",
    "SGD",
    "schedules",
    "serialize",
    "deserialize",
    "get",
]

ALL_OBJECTS = {
    cls.__name__: cls
    for cls in (Optimizer, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, Lion, Nadam,
                RMSprop, SGD)
}


def _lookup_key(name):
    # "adam", "Adam", "ADAM", "adam_w", "AdamW", "rmsprop", "rm_sprop" all name one class.
    return name.replace("_", "").lower()


_BY_KEY = {_lookup_key(name): cls for name, cls in ALL_OBJECTS.items() if cls is not Optimizer}


def serialize(optimizer):
    """Returns the config envelope of an optimizer (`{"module", "class_name", "config", ...}`).

    Example:
        >>> kiln.optimizers.serialize(kiln.optimizers.Adam())["class_name"]
        'Adam'
    """
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """Rebuilds an optimizer from a config envelope; built-in class names match any case.

    Example:
        >>> opt = kiln.optimizers.deserialize({"class_name": "adam", "config": {}})
    """
    from kiln.saving import deserialize_keras_object

    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        # As in Keras, "adam" or "ADAM" name the built-in Adam.
        cls = _BY_KEY.get(_lookup_key(config["class_name"]))
        if cls is not None and config["class_name"] != cls.__name__:
            config = dict(config, class_name=cls.__name__)
    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Returns an optimizer from a name, a config dict, an instance, or None.

    Names are Keras's, in any case: "adam", "sgd", "rmsprop", "adamw", "adagrad",
    "adadelta", "adamax", "nadam", "lion", "ftrl" (or "Adam", "RMSprop", ...). A name
    gives a new optimizer with default arguments.

    Example:
        >>> kiln.optimizers.get("adam").get_config()["beta_1"]
        0.9
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_KEY.get(_lookup_key(identifier))
        if cls is None:
            known = sorted(_lookup_key(name) for name in ALL_OBJECTS if name != "Optimizer")
            raise ValueError(
                f"Unknown optimizer name {identifier!r}. Known names: {known}. For a custom "
                "optimizer pass an instance."
            )
        return cls()
    if isinstance(identifier, dict):
        optimizer = deserialize(identifier)
        if isinstance(optimizer, Optimizer):
            return optimizer
    raise ValueError(
        "Could not interpret optimizer identifier. Expected an Optimizer, a name such as "
        f"'adam', a config dict or None. Received: {identifier!r}"
    )
