"""Learning-rate schedules: `kiln.optimizers.schedules` (Keras 3's `keras.optimizers.schedules`).

Pass a schedule as an optimizer's `learning_rate`; it is evaluated at the optimizer's
iteration count before each update and saved inside the optimizer's config.
"""

from kiln.optimizers.schedules.cosine_decay import CosineDecay
from kiln.optimizers.schedules.cosine_decay_restarts import CosineDecayRestarts
from kiln.optimizers.schedules.exponential_decay import ExponentialDecay
from kiln.optimizers.schedules.inverse_time_decay import InverseTimeDecay
from kiln.optimizers.schedules.learning_rate_schedule import LearningRateSchedule
from kiln.optimizers.schedules.piecewise_constant_decay import PiecewiseConstantDecay
from kiln.optimizers.schedules.polynomial_decay import PolynomialDecay

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
    "get",
]

ALL_OBJECTS = {
    cls.__name__: cls
    for cls in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay,
                InverseTimeDecay, PolynomialDecay, CosineDecay, CosineDecayRestarts)
}


def serialize(learning_rate_schedule):
    """Returns the config envelope of a schedule.

    Example:
        >>> kiln.optimizers.schedules.serialize(ExponentialDecay(0.1, 10, 0.9))["class_name"]
        'ExponentialDecay'
    """
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """Rebuilds a schedule from its config envelope.

    Example:
        >>> schedule = kiln.optimizers.schedules.deserialize(serialize(old_schedule))
    """
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Returns a schedule from an instance, a config dict, a callable or None.

    Example:
        >>> get({"class_name": "ExponentialDecay", "config": {...}})
    """
    if identifier is None or isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        raise ValueError(
            f"Cannot build learning-rate schedule {identifier!r} from a name alone: "
            "schedules need arguments. Pass an instance such as "
            "`ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9)` or a config dict."
        )
    if callable(identifier):
        return identifier
    raise ValueError(
        "Could not interpret learning-rate schedule identifier. Expected a "
        f"LearningRateSchedule, a config dict, a callable or None. Received: {identifier!r}"
    )
