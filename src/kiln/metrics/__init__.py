"""Metrics with Keras 3 names, state variables (names, shapes, order), values and configs.

`kiln.metrics.get("accuracy")` returns an `Accuracy()` instance and `get("mse")` a
`MeanSquaredError()` instance, as Keras does (metric names resolve to classes, never to
functions). The functions (`sparse_categorical_accuracy`, ...) are attributes here too.
"""

import inspect

from kiln.losses._common import to_snake_case
from kiln.losses.hinge import categorical_hinge, hinge, squared_hinge
from kiln.losses.probabilistic import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from kiln.losses.regression import (
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from kiln.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from kiln.metrics.auc import AUC
from kiln.metrics.confusion_metrics import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from kiln.metrics.correlation_metrics import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from kiln.metrics.f_score_metrics import F1Score, FBetaScore
from kiln.metrics.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge
from kiln.metrics.iou_metrics import IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from kiln.metrics.metric import Metric
from kiln.metrics.metrics_list import MetricsList
from kiln.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from kiln.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from kiln.metrics.regression_metrics import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)
from kiln.metrics.sensitivity_metrics import (
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)

_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score,
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
    ConcordanceCorrelation, PearsonCorrelation,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU, MetricsList,
)

#: CamelCase class name -> `Metric` class.
ALL_OBJECTS = {cls.__name__: cls for cls in _CLASSES}
#: Every string `get()` understands: class names, their snake_case forms and aliases.
#: `"acc"` is a kiln addition (an alias of `"accuracy"`); Keras only resolves it in
#: `compile()`, where it picks the accuracy variant from the output shapes.
ALL_OBJECTS_DICT = {
    **ALL_OBJECTS,
    **{to_snake_case(name): cls for name, cls in ALL_OBJECTS.items()},
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy,
}


def serialize(metric):
    """Returns the config dict of a metric function or `Metric` instance.

    Example:
        >>> kiln.metrics.serialize(kiln.metrics.AUC())["class_name"]
        'AUC'
    """
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """Rebuilds a metric function or `Metric` instance from `serialize()`'s output.

    Example:
        >>> kiln.metrics.deserialize(kiln.metrics.serialize(kiln.metrics.AUC())).name
        'auc'
    """
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Returns a `Metric` instance (or a metric function) for `identifier`.

    Args:
        identifier: None, a name (`"accuracy"`, `"mse"`, `"AUC"`, `"f1_score"`), a config
            dict, a function, a `Metric` class or a `Metric` instance.

    Example:
        >>> kiln.metrics.get("mae").name
        'mean_absolute_error'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(
                f"Unknown metric identifier: {identifier!r}. Known names: "
                f"{', '.join(sorted(ALL_OBJECTS_DICT))}. Pass one of these, a `Metric` "
                "instance or a function `fn(y_true, y_pred)`."
            )
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(
            f"Could not interpret metric identifier: {identifier!r}. Expected a name, a config "
            "dict, a function or a `Metric` instance."
        )
    return obj


__all__ = [
    # registry and (de)serialization
    "ALL_OBJECTS", "ALL_OBJECTS_DICT", "serialize", "deserialize", "get",
    # base and reduction metrics
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "MetricsList",
    # accuracy
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    # regression
    "MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "LogCoshError", "R2Score",
    # confusion-matrix based
    "AUC", "Precision", "Recall", "TruePositives", "FalsePositives", "TrueNegatives",
    "FalseNegatives", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "F1Score", "FBetaScore",
    # IoU
    "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
    # correlation
    "PearsonCorrelation", "ConcordanceCorrelation", "pearson_correlation", "concordance_correlation",
    # probabilistic and hinge
    "KLDivergence", "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge", "CategoricalHinge",
    # loss functions Keras also exports from keras.metrics
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
    "poisson", "hinge", "squared_hinge", "categorical_hinge", "huber", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error",
]
