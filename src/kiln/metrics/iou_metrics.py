"""Intersection-over-union metrics from an accumulated confusion matrix.

Grouped as in Keras: `BinaryIoU`, `MeanIoU`, `OneHotIoU` and `OneHotMeanIoU` are `IoU`
with different defaults. The state is one `(num_classes, num_classes)` confusion
matrix, int32 by default (so float sample weights are truncated, as in Keras).
"""

import torch

from kiln.core import dtypes
from kiln.losses._common import epsilon, to_tensor
from kiln.metrics.metric import Metric


class _IoUBase(Metric):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype or "int32")
        self._direction = "up"
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(name="total_confusion_matrix",
                                          shape=(num_classes, num_classes), initializer="zeros",
                                          dtype=self.dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        with torch.no_grad():
            y_true, y_pred = to_tensor(y_true), to_tensor(y_pred)
            if not self.sparse_y_true:
                y_true = torch.argmax(y_true, dim=self.axis)
            if not self.sparse_y_pred:
                y_pred = torch.argmax(y_pred, dim=self.axis)
            state_dtype = dtypes.to_torch(self.dtype)
            device = self.total_cm.value.device
            y_true = y_true.to(device=device, dtype=state_dtype).reshape(-1)
            y_pred = y_pred.to(device=device, dtype=state_dtype).reshape(-1)
            weight = to_tensor(1 if sample_weight is None else sample_weight).to(
                device=device, dtype=state_dtype)
            weight = torch.broadcast_to(weight.reshape(-1) if weight.dim() > 1 else weight,
                                        y_true.shape)
            n = self.num_classes
            valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
            if self.ignore_class is not None:
                valid &= y_true != self.ignore_class
            weight = torch.where(valid, weight, torch.zeros_like(weight))
            flat = (torch.where(valid, y_true, 0).long() * n + torch.where(valid, y_pred, 0).long())
            cm = torch.zeros(n * n, dtype=state_dtype, device=device).scatter_add_(0, flat, weight)
            self.total_cm.assign_add(cm.reshape(n, n))

    def reset_state(self):
        self.total_cm.assign(torch.zeros(self.total_cm.shape, dtype=self.total_cm.value.dtype))


class IoU(_IoUBase):
    """Mean intersection-over-union over `target_class_ids`, from integer labels.

    For each target class, IoU = TP / (TP + FP + FN); the result averages it over the
    target classes that occurred (in labels or predictions).

    Args:
        num_classes: Number of classes.
        target_class_ids: Classes to average over.
        name, dtype: As for every metric (dtype of the confusion matrix, int32 default).
        ignore_class: A label value to skip.
        sparse_y_true: False when labels are one-hot (arg-max along `axis` is taken).
        sparse_y_pred: False when predictions are scores (arg-max along `axis`).
        axis: The class axis for the arg-max.

    Example:
        >>> m = kiln.metrics.IoU(num_classes=2, target_class_ids=[0])
        >>> m([0, 0, 1, 1], [0, 1, 0, 1])
        tensor(0.3333)
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, num_classes=num_classes, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis,
                         dtype=dtype)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        cm = self.total_cm.value.to(torch.float32)
        true_positives = torch.diagonal(cm)
        denominator = cm.sum(0) + cm.sum(1) - true_positives
        ids = torch.as_tensor(self.target_class_ids, dtype=torch.long, device=cm.device)
        true_positives, denominator = true_positives[ids], denominator[ids]
        valid = denominator > 1e-9
        iou = torch.where(valid, true_positives / (denominator + epsilon()), torch.zeros_like(denominator))
        return (iou.sum(dim=self.axis) / (valid.to(torch.float32).sum() + epsilon())).detach()

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU for binary labels, with predictions thresholded at `threshold` (>=).

    Example:
        >>> kiln.metrics.BinaryIoU(target_class_ids=[0, 1])([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.2])
        tensor(0.3333)
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred).detach().to(torch.float32)
        return super().update_state(y_true, (y_pred >= self.threshold).to(torch.int32), sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes.

    Example:
        >>> kiln.metrics.MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1])
        tensor(0.3333)
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, num_classes=num_classes,
                         target_class_ids=list(range(num_classes)), axis=axis, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """`IoU` for one-hot labels and score predictions (arg-max along `axis`).

    Example:
        >>> m = kiln.metrics.OneHotIoU(num_classes=2, target_class_ids=[0])
        >>> m([[1, 0], [1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
        tensor(0.5000)
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """`MeanIoU` for one-hot labels and score predictions.

    Example:
        >>> m = kiln.metrics.OneHotMeanIoU(num_classes=2)
        >>> m([[1, 0], [1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
        tensor(0.5000)
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes=num_classes, axis=axis, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
