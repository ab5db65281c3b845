"""Regression metrics (grouped as in Keras: most are a loss function under a running mean)."""

import warnings

import torch

from kiln.losses._common import to_tensor
from kiln.losses.reduction import squeeze_or_expand_to_same_rank
from kiln.losses.regression import (
    l2_normalize,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from kiln.metrics.metric import Metric
from kiln.metrics.reduction_metrics import Mean, MeanMetricWrapper, accumulate


class _NameDtypeConfig:
    """Keras gives these metrics a config of just `name` and `dtype` (no `fn`)."""

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_NameDtypeConfig, MeanMetricWrapper):
    """Running mean of the squared error.

    Example:
        >>> kiln.metrics.MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        tensor(0.2500)
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"


class MeanAbsoluteError(_NameDtypeConfig, MeanMetricWrapper):
    """Running mean of the absolute error.

    Example:
        >>> kiln.metrics.MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        tensor(0.2500)
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype=dtype)
        self._direction = "down"


class MeanAbsolutePercentageError(_NameDtypeConfig, MeanMetricWrapper):
    """Running mean of the absolute percentage error.

    Example:
        >>> kiln.metrics.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]])
        tensor(25.)
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, dtype=dtype)
        self._direction = "down"


class MeanSquaredLogarithmicError(_NameDtypeConfig, MeanMetricWrapper):
    """Running mean of the squared logarithmic error.

    Example:
        >>> kiln.metrics.MeanSquaredLogarithmicError()([[0.0]], [[1.718281828]])
        tensor(1.0000)
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, dtype=dtype)
        self._direction = "down"


class RootMeanSquaredError(Mean):
    """Square root of the running mean of squared errors (over all elements).

    Example:
        >>> kiln.metrics.RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        tensor(0.5000)
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        with torch.no_grad():
            y_true = to_tensor(y_true, self.dtype)
            y_pred = to_tensor(y_pred, self.dtype, device=y_true.device)
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
            return super().update_state(torch.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return torch.sqrt(super().result())


def _cosine_similarity(y_true, y_pred, axis=-1):
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype, device=y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return torch.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), dim=axis)


class CosineSimilarity(_NameDtypeConfig, MeanMetricWrapper):
    """Running mean of the cosine similarity between labels and predictions along `axis`.

    Example:
        >>> kiln.metrics.CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
        tensor(0.5000)
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_cosine_similarity, name, dtype=dtype, axis=axis)
        self._direction = "up"


class LogCoshError(_NameDtypeConfig, MeanMetricWrapper):
    """Running mean of `log(cosh(y_pred - y_true))`.

    Example:
        >>> kiln.metrics.LogCoshError()([[0.0]], [[1.0]])
        tensor(0.4338)
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name, dtype=dtype)
        self._direction = "down"


class R2Score(Metric):
    """Coefficient of determination over everything seen, per output column.

    Args:
        class_aggregation: `"uniform_average"` (default), `"variance_weighted_average"`
            or None (one score per column).
        num_regressors: For the adjusted R2; 0 means plain R2.
        name, dtype: As for every metric.

    Example:
        >>> kiln.metrics.R2Score()([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])
        tensor(0.5714)
    """

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{self._AGGREGATIONS}. Received: class_aggregation={class_aggregation!r}"
            )
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}."
            )
        num_classes = y_pred_shape[-1]
        self.squared_sum = self.add_variable((num_classes,), "zeros", name="squared_sum")
        self.sum = self.add_variable((num_classes,), "zeros", name="sum")
        self.total_mse = self.add_variable((num_classes,), "zeros", name="residual")
        self.count = self.add_variable((num_classes,), "zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        with torch.no_grad():
            y_true = to_tensor(y_true, self.dtype)
            y_pred = to_tensor(y_pred, self.dtype, device=y_true.device)
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
            if not self._built:
                self._build(y_true.shape, y_pred.shape)
            weight = to_tensor(1.0 if sample_weight is None else sample_weight, self.dtype,
                               device=y_true.device)
            if weight.dim() == 1:
                weight = weight.unsqueeze(1)
            weight = torch.broadcast_to(weight, y_true.shape)
            weighted = y_true * weight
            accumulate(self.sum, weighted.sum(0))
            accumulate(self.squared_sum, (y_true * weighted).sum(0))
            accumulate(self.total_mse, ((y_true - y_pred) ** 2 * weight).sum(0))
            accumulate(self.count, weight.sum(0))
            accumulate(self.num_samples, float(y_true.numel()))

    def result(self):
        total_sum, count = self.sum.value, self.count.value
        mean = total_sum / count
        total = self.squared_sum.value - total_sum * mean
        raw = 1 - self.total_mse.value / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors != 0:
            n, p = float(self.num_samples.value), float(self.num_regressors)
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard "
                              "R2 score.", stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return score.detach().clone()

    def reset_state(self):
        for v in self.variables:
            v.assign(torch.zeros(v.shape, dtype=v.value.dtype))

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
