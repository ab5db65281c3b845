"""Threshold-based classification counts: TP/FP/TN/FN, `Precision` and `Recall`.

Grouped in one file as in Keras: the four counters differ only in which cell of the
confusion matrix they accumulate, and Precision/Recall are ratios of two of them.
"""

import torch

from kiln.losses._common import divide_no_nan
from kiln.metrics import confusion_utils
from kiln.metrics.metric import Metric


class _ConfusionMatrixConditionCount(Metric):
    """Accumulates one confusion-matrix cell (`"tp"`, `"fp"`, `"tn"` or `"fn"`)."""

    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = confusion_utils.parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = confusion_utils.is_evenly_distributed_thresholds(
            self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), initializer="zeros",
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        confusion_utils.update_confusion_matrix_variables(
            {self._condition: self.accumulator}, y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight)

    def result(self):
        value = self.accumulator.value.detach().clone()
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted above each threshold.

    Example:
        >>> kiln.metrics.TruePositives()([0, 1, 1, 1], [1, 0, 1, 1])
        tensor(2.)
    """

    _condition = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted above each threshold.

    Example:
        >>> kiln.metrics.FalsePositives()([0, 1, 0, 0], [0, 0, 1, 1])
        tensor(2.)
    """

    _condition = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted at or below each threshold.

    Example:
        >>> kiln.metrics.TrueNegatives()([0, 1, 0, 0], [1, 1, 0, 0])
        tensor(2.)
    """

    _condition = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted at or below each threshold.

    Example:
        >>> kiln.metrics.FalseNegatives()([0, 1, 1, 1], [0, 1, 0, 0])
        tensor(2.)
    """

    _condition = "fn"


class _PrecisionRecallBase(Metric):
    _second = None  # "fp" for precision, "fn" for recall
    _second_name = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else confusion_utils.NEG_INF
        self.thresholds = confusion_utils.parse_init_thresholds(thresholds, default_threshold=default)
        self._thresholds_distributed_evenly = confusion_utils.is_evenly_distributed_thresholds(
            self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros",
                                                name="true_positives")
        setattr(self, self._second_name,
                self.add_variable(shape=(n,), initializer="zeros", name=self._second_name))

    def update_state(self, y_true, y_pred, sample_weight=None):
        confusion_utils.update_confusion_matrix_variables(
            {"tp": self.true_positives, self._second: getattr(self, self._second_name)},
            y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight)

    def result(self):
        tp = self.true_positives.value
        value = divide_no_nan(tp, tp + getattr(self, self._second_name).value).detach().clone()
        return value[0] if len(self.thresholds) == 1 else value

    def reset_state(self):
        n = len(self.thresholds)
        self.true_positives.assign(torch.zeros(n))
        getattr(self, self._second_name).assign(torch.zeros(n))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecallBase):
    """Fraction of predicted positives that are positive: `TP / (TP + FP)`.

    Args:
        thresholds: A float or list of floats in [0, 1]; a prediction above the
            threshold is positive (default 0.5). A list gives one value per threshold.
        top_k: Only the `k` highest-scoring classes of each row count as predicted.
        class_id: Evaluate a single class (column) of a multi-class prediction.
        name, dtype: As for every metric.

    Example:
        >>> kiln.metrics.Precision()([0, 1, 1, 1], [1, 0, 1, 1])
        tensor(0.6667)
    """

    _second, _second_name = "fp", "false_positives"


class Recall(_PrecisionRecallBase):
    """Fraction of positives that are predicted positive: `TP / (TP + FN)`.

    Arguments are those of `Precision`.

    Example:
        >>> kiln.metrics.Recall()([0, 1, 1, 1], [1, 0, 1, 1])
        tensor(0.6667)
    """

    _second, _second_name = "fn", "false_negatives"
