"""`Loss` classes for the probabilistic functions in `probabilistic.py`.

Grouped in one file like Keras's: each class only binds a function and its options.
`get_config()` returns exactly Keras 3.15's keys (note: Keras leaves `axis` out of
`SparseCategoricalCrossentropy`'s config, so kiln does too).
"""

import torch
import torch.nn.functional as F

from kiln.core import dtypes
from kiln.losses import probabilistic as fns
from kiln.losses._common import get_keras_mask
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy between targets in [0, 1] and predicted probabilities or logits.

    Args:
        from_logits: Whether predictions are logits.
        label_smoothing: Moves targets towards 0.5 by this fraction.
        axis: The axis to average over.
        reduction, name, dtype: See `kiln.losses.Loss`.

    Example:
        >>> kiln.losses.BinaryCrossentropy()([[1.0, 0.0]], [[0.9, 0.2]])
        tensor(0.1643)
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(fns.binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Focal binary cross-entropy (see `binary_focal_crossentropy`).

    Example:
        >>> kiln.losses.BinaryFocalCrossentropy(gamma=2.0)([[1.0, 0.0]], [[0.9, 0.2]])
        tensor(0.0050)
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(fns.binary_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between one-hot/soft targets and predicted distributions.

    Example:
        >>> kiln.losses.CategoricalCrossentropy()([[0.0, 1.0]], [[0.2, 0.8]])
        tensor(0.2231)
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(fns.categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Alpha-balanced focal categorical cross-entropy.

    Example:
        >>> kiln.losses.CategoricalFocalCrossentropy()([[0.0, 1.0]], [[0.2, 0.8]])
        tensor(0.0022)
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(fns.categorical_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "alpha": self.alpha, "gamma": self.gamma}


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between integer labels and predicted distributions.

    Labels may be any integer dtype (int32, int64, uint8, ...) or integer-valued floats.
    With `from_logits=True` this runs torch's fused `cross_entropy` kernel.

    Args:
        from_logits: Whether predictions are logits.
        ignore_class: A label value excluded from the loss and from the mean.
        reduction, name, dtype: See `kiln.losses.Loss`.
        axis: The class axis (not part of the config, as in Keras).

    Example:
        >>> loss = kiln.losses.SparseCategoricalCrossentropy()
        >>> loss([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        tensor(1.1769)
    """

    _labels_are_indices = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(fns.sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self._axis = axis

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Fast path for the usual training step: (batch, classes) logits, plain labels,
        # no weights or masks. One fused kernel does the loss and the batch mean, which
        # is what the general path computes in several steps.
        if (self.from_logits and sample_weight is None and self.ignore_class is None
                and self.reduction in ("sum_over_batch_size", "mean")
                and isinstance(y_pred, torch.Tensor) and isinstance(y_true, torch.Tensor)
                and y_pred.dim() == 2 and self._axis in (-1, 1) and y_pred.shape[0] > 0
                and get_keras_mask(y_pred) is None and y_true.device == y_pred.device
                and (y_true.dim() == 1 or (y_true.dim() == 2 and y_true.shape[1] == 1))
                and y_true.shape[0] == y_pred.shape[0]):
            logits = y_pred.to(dtypes.to_torch(self.dtype))
            return F.cross_entropy(logits, y_true.reshape(-1).long())
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence between target and predicted distributions.

    Example:
        >>> kiln.losses.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])
        tensor(0.1438)
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(fns.kl_divergence, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class Poisson(LossFunctionWrapper):
    """Poisson loss `y_pred - y_true * log(y_pred)`.

    Example:
        >>> kiln.losses.Poisson()([[1.0]], [[1.0]])
        tensor(1.0000)
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(fns.poisson, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Noise-robust generalized cross-entropy with integer labels, `q` in (0, 1).

    Example:
        >>> kiln.losses.CategoricalGeneralizedCrossEntropy(q=0.5)([1], [[0.36, 0.64]])
        tensor(0.4000)
    """

    _labels_are_indices = True

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"`q` must be in the open interval (0, 1). Received: q={q}")
        super().__init__(fns.categorical_generalized_cross_entropy, name=name,
                         reduction=reduction, dtype=dtype, q=q)
        self.q = q

    def get_config(self):
        return {**Loss.get_config(self), "q": self.q}
