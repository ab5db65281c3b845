"""Loss functions and `Loss` classes with Keras 3 names, defaults, numerics and configs.

`kiln.losses.get("mse")` returns the function `mean_squared_error`, as Keras does;
`get("MeanSquaredError")` returns an instance of the class.
"""

import inspect

from kiln.losses.circle import Circle, circle
from kiln.losses.ctc import CTC, ctc
from kiln.losses.hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper
from kiln.losses.probabilistic import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from kiln.losses.probabilistic_losses import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from kiln.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from kiln.losses.segmentation import Dice, Tversky, dice, tversky

# Short aliases (Keras 2 / legacy names); they are the very same functions.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh

_CLASSES = (
    Loss, LossFunctionWrapper,
    KLDivergence, Poisson, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, SparseCategoricalCrossentropy, CategoricalGeneralizedCrossEntropy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, LogCosh, Huber,
    Hinge, SquaredHinge, CategoricalHinge,
    Dice, Tversky, Circle, CTC,
)
_FUNCTIONS = (
    kl_divergence, poisson, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, categorical_focal_crossentropy, sparse_categorical_crossentropy,
    categorical_generalized_cross_entropy,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, cosine_similarity, log_cosh, huber,
    hinge, squared_hinge, categorical_hinge, dice, tversky, circle, ctc,
)

#: CamelCase class name -> `Loss` class.
ALL_OBJECTS = {cls.__name__: cls for cls in _CLASSES}
#: snake_case function name -> loss function.
ALL_FUNCTIONS = {fn.__name__: fn for fn in _FUNCTIONS}
#: Every string `get()` understands (Keras's table plus the short aliases above).
ALL_OBJECTS_DICT = {
    **ALL_OBJECTS, **ALL_FUNCTIONS,
    "bce": bce, "BCE": bce, "kld": kld, "KLD": kld, "mae": mae, "MAE": mae, "mse": mse,
    "MSE": mse, "mape": mape, "MAPE": mape, "msle": msle, "MSLE": msle,
}
# Objects for which a metric wrapping them should be minimized (`Metric._direction`).
_BUILTIN_LOSS_OBJECTS = frozenset(_CLASSES) | frozenset(_FUNCTIONS)


def serialize(loss):
    """Returns the config dict of a loss function or `Loss` instance.

    Example:
        >>> kiln.losses.serialize(kiln.losses.Huber())["class_name"]
        'Huber'
    """
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(loss)


def deserialize(config, custom_objects=None):
    """Rebuilds a loss function or `Loss` instance from `serialize()`'s output.

    Example:
        >>> kiln.losses.deserialize(kiln.losses.serialize(kiln.losses.Huber())).name
        'huber_loss'
    """
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Returns a loss function or `Loss` instance for `identifier`.

    Args:
        identifier: None, a name (`"mse"`, `"categorical_crossentropy"`, `"Huber"`),
            a config dict, a function, a `Loss` class or a `Loss` instance.

    Example:
        >>> kiln.losses.get("mse") is kiln.losses.mean_squared_error
        True
        >>> kiln.losses.get("Huber").name
        'huber_loss'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(
                f"Unknown loss identifier: {identifier!r}. Known names: "
                f"{', '.join(sorted(ALL_OBJECTS_DICT))}. Pass one of these, a `Loss` instance "
                "or a function `fn(y_true, y_pred)`."
            )
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(
            f"Could not interpret loss identifier: {identifier!r}. Expected a name, a config "
            "dict, a function or a `Loss` instance."
        )
    return obj


__all__ = [
    # registry and (de)serialization
    "ALL_OBJECTS", "ALL_FUNCTIONS", "ALL_OBJECTS_DICT", "serialize", "deserialize", "get",
    # base classes
    "Loss", "LossFunctionWrapper",
    # probabilistic
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "KLDivergence",
    "Poisson", "SparseCategoricalCrossentropy",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_generalized_cross_entropy", "kl_divergence",
    "poisson", "sparse_categorical_crossentropy",
    # regression
    "CosineSimilarity", "Huber", "LogCosh", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredError", "MeanSquaredLogarithmicError",
    "cosine_similarity", "huber", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    # hinge
    "CategoricalHinge", "Hinge", "SquaredHinge", "categorical_hinge", "hinge", "squared_hinge",
    # segmentation, similarity, sequence
    "Dice", "Tversky", "Circle", "CTC", "dice", "tversky", "circle", "ctc",
    # short aliases
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD", "bce", "BCE",
    "logcosh",
]
