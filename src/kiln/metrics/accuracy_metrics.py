"""Accuracy functions and metrics (Keras 3 semantics, grouped as in Keras).

Each class is `MeanMetricWrapper` around the function above it; they are read together.
"""

import torch

from kiln.core import dtypes
from kiln.losses._common import floatx, to_tensor
from kiln.losses.reduction import squeeze_or_expand_to_same_rank
from kiln.metrics.reduction_metrics import MeanMetricWrapper


def _float(matches):
    """Match booleans as floatx values."""
    return matches.to(dtypes.to_torch(floatx()))


def _pred(y_pred):
    y_pred = to_tensor(y_pred)
    return y_pred.detach() if y_pred.requires_grad else y_pred


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred` exactly, else 0.0.

    Example:
        >>> kiln.metrics.accuracy([1, 2, 3], [1, 2, 4])
        tensor([1., 1., 0.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype, device=y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _float(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `(y_pred > threshold)` equals the 0/1 label, else 0.0.

    Example:
        >>> kiln.metrics.binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]])
        tensor([[1.], [0.]])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = (y_pred > threshold).to(y_true.dtype)
    return _float(y_true == predicted)


def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of the one-hot label equals the arg-max of the prediction.

    Example:
        >>> kiln.metrics.categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
        tensor([1., 0.])
    """
    y_pred = _pred(y_pred)
    labels = torch.argmax(to_tensor(y_true, device=y_pred.device), dim=-1).to(y_pred.dtype)
    original_shape = labels.shape
    reshape = labels.dim() == y_pred.dim()
    if reshape:
        labels = labels.squeeze(-1)
    predicted = torch.argmax(y_pred, dim=-1).to(labels.dtype)
    matches = _float(labels == predicted)
    return matches.reshape(original_shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals the arg-max of the prediction.

    Example:
        >>> kiln.metrics.sparse_categorical_accuracy([2, 1], [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
        tensor([1., 0.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype, device=y_pred.device)
    original_shape = y_true.shape
    reshape = y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1
    if reshape:
        y_true = y_true.squeeze(-1)
    predicted = torch.argmax(y_pred, dim=-1).to(y_true.dtype)
    matches = _float(y_true == predicted)
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.dim() > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(labels, y_pred, k):
    """True where the label's score is at least the k-th largest score (ties count)."""
    k = min(int(k), y_pred.shape[-1])
    kth = torch.topk(y_pred, k, dim=-1).values[:, -1]
    target = torch.gather(y_pred, 1, labels.long().unsqueeze(1)).squeeze(1)
    return target >= kth


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label's class is among the `k` highest predictions.

    Example:
        >>> kiln.metrics.top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]], k=2)
        tensor([1., 1.])
    """
    y_pred = _pred(y_pred)
    labels = torch.argmax(to_tensor(y_true, device=y_pred.device), dim=-1)
    original_shape = labels.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _float(_in_top_k(labels.reshape(-1), y_pred, k))
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the `k` highest predictions.

    With `from_sorted_ids=True`, `y_pred` already holds class ids sorted by score, and
    the label is looked up in its first `k` columns.

    Example:
        >>> kiln.metrics.sparse_top_k_categorical_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]], k=1)
        tensor([1., 1.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    original_shape = y_true.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    labels = y_true.reshape(-1) if y_true.dim() > 1 else y_true
    if from_sorted_ids:
        matches = torch.any(labels.to(y_pred.dtype).unsqueeze(1) == y_pred[:, :k], dim=1)
    else:
        matches = _in_top_k(labels, y_pred, k)
    matches = _float(matches)
    return matches.reshape(original_shape) if y_true.dim() > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    Example:
        >>> kiln.metrics.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        tensor(0.7500)
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded predictions match binary labels.

    Example:
        >>> kiln.metrics.BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        tensor(0.7500)
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max prediction matches the one-hot label.

    Example:
        >>> kiln.metrics.CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        tensor(0.5000)
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max prediction matches the integer label.

    Example:
        >>> kiln.metrics.SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        tensor(0.5000)
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is in the top `k` predictions.

    Example:
        >>> m = kiln.metrics.TopKCategoricalAccuracy(k=1)
        >>> m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        tensor(0.5000)
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is in the top `k` predictions.

    Example:
        >>> m = kiln.metrics.SparseTopKCategoricalAccuracy(k=1)
        >>> m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        tensor(0.5000)
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids
        self._direction = "up"

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
