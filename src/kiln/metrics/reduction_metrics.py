"""`Sum`, `Mean` and `MeanMetricWrapper`: the reducing metrics most others build on.

Kept together (as in Keras) because `MeanMetricWrapper` is `Mean` plus a function
call, and both share the weighting helper below.
"""

import torch

from kiln.losses import _BUILTIN_LOSS_OBJECTS
from kiln.losses._common import divide_no_nan, get_keras_mask, to_tensor
from kiln.losses.reduction import apply_mask, squeeze_or_expand_to_same_rank
from kiln.metrics.metric import Metric


def accumulate(variable, delta):
    """`variable += delta`, moving `delta` to the variable's device if needed."""
    storage = variable.value
    if isinstance(delta, torch.Tensor):
        delta = delta.detach()
        if delta.device != storage.device:
            delta = delta.to(storage.device)
    variable.assign_add(delta)


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Reduces `values` to one value per sample, weighted by `sample_weight`.

    Returns `(values, sample_weight)` where both have at most one (batch) axis; values
    are already multiplied by the weights. A `_keras_mask` on `values` is folded into
    the weights when weights are given (Keras's behaviour).
    """
    mask = get_keras_mask(values)
    values = to_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype, device=values.device)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype=values.dtype, reduction="sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.dim(), values.dim()
        if values_ndim > weight_ndim:
            values = reduce_fn(values, dim=tuple(range(weight_ndim, values_ndim)))
        sample_weight = torch.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=tuple(range(1, weight_ndim)))
    if values.dim() > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.dim())))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of the given values.

    Example:
        >>> m = kiln.metrics.Sum()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0])
        >>> m.result()
        tensor(16.)
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")

    def update_state(self, values, sample_weight=None):
        with torch.no_grad():
            values, _ = reduce_to_samplewise_values(values, sample_weight, torch.sum, self.dtype)
            accumulate(self.total, values.sum())

    def reset_state(self):
        self.total.assign(0)

    def result(self):
        return self.total.value.detach().clone()


class Mean(Metric):
    """Running (weighted) mean of the given values: `total / count`.

    With `sample_weight`, `count` accumulates the weights, so the result is the
    weighted mean over everything seen since the last `reset_state()`.

    Example:
        >>> m = kiln.metrics.Mean()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1.0, 1.0, 0.0, 0.0])
        >>> m.result()
        tensor(2.)
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None):
        with torch.no_grad():
            values, sample_weight = reduce_to_samplewise_values(
                values, sample_weight, torch.mean, self.dtype)
            accumulate(self.total, values.sum())
            if sample_weight is not None:
                num_samples = sample_weight.sum()
            elif values.dim() >= 1:
                num_samples = float(values.shape[0])
            else:
                num_samples = 1.0
            accumulate(self.count, num_samples)

    def reset_state(self):
        self.total.assign(0)
        self.count.assign(0)

    def result(self):
        return divide_no_nan(self.total.value, self.count.value).detach().clone()


class MeanMetricWrapper(Mean):
    """The running mean of `fn(y_true, y_pred, **kwargs)` (e.g. a loss function).

    Wrapping a built-in loss function or `Loss` marks the metric as one to minimize
    (`_direction = "down"`), which `ModelCheckpoint(mode="auto")` uses.

    Args:
        fn: `fn(y_true, y_pred, **kwargs)` returning per-sample values.
        name: Name of the metric.
        dtype: Computation dtype.
        **kwargs: Passed to `fn` on every update.

    Example:
        >>> m = kiln.metrics.MeanMetricWrapper(kiln.losses.mean_absolute_error, name="mae")
        >>> m([[0.0, 1.0]], [[1.0, 1.0]])
        tensor(0.5000)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper expects a callable `fn(y_true, y_pred)`. Received: fn={fn!r}"
            )
        self._fn = fn
        self._fn_kwargs = kwargs
        if _is_builtin_loss(fn):
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        with torch.no_grad():
            mask = get_keras_mask(y_pred)
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            sample_weight = apply_mask(sample_weight, mask, dtype=self.dtype, reduction="sum")
            return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        from kiln.saving import serialize_keras_object

        config = {**super().get_config(), "fn": serialize_keras_object(self._fn)}
        config.update({k: serialize_keras_object(v) for k, v in self._fn_kwargs.items()})
        return config

    @classmethod
    def from_config(cls, config):
        if "fn" in config:
            from kiln.saving import deserialize_keras_object

            config = dict(config)
            config["fn"] = deserialize_keras_object(config["fn"])
        return cls(**config)


def _is_builtin_loss(fn):
    try:
        if fn in _BUILTIN_LOSS_OBJECTS:
            return True
    except TypeError:  # unhashable callable
        return False
    return type(fn) in _BUILTIN_LOSS_OBJECTS
