"""Metrics that read one operating point off a binned curve (e.g. recall at 90% precision).

Grouped as in Keras: the four classes share their state and differ only in which
rate is constrained and which is maximized.
"""

import torch

from kiln.losses._common import divide_no_nan
from kiln.metrics import confusion_utils
from kiln.metrics.metric import Metric


class _SensitivitySpecificityBase(Metric):
    _value_name = None  # the constructor argument holding the constraint

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. "
                             f"Received: {self._value_name}={value}")
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = value
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        setattr(self, self._value_name, value)
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._thresholds_distributed_evenly = False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
            self._thresholds_distributed_evenly = True
        n = len(self.thresholds)
        for name_ in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, name_, self.add_variable(shape=(n,), initializer="zeros", name=name_))

    def update_state(self, y_true, y_pred, sample_weight=None):
        confusion_utils.update_confusion_matrix_variables(
            {"tp": self.true_positives, "tn": self.true_negatives,
             "fp": self.false_positives, "fn": self.false_negatives},
            y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            class_id=self.class_id, sample_weight=sample_weight)

    def reset_state(self):
        for v in (self.true_positives, self.false_positives, self.true_negatives,
                  self.false_negatives):
            v.assign(torch.zeros(v.shape))

    def _rates(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {"sensitivity": divide_no_nan(tp, tp + fn), "recall": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp), "precision": divide_no_nan(tp, tp + fp)}

    def _max_where_at_least(self, constrained, dependent):
        feasible = constrained >= self.value
        best = torch.where(feasible, dependent, torch.zeros_like(dependent)).max()
        return torch.clamp(best, min=0.0).detach().clone()

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._value_name: self.value}


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """Best sensitivity (recall) among thresholds whose specificity is >= `specificity`.

    Example:
        >>> m = kiln.metrics.SensitivityAtSpecificity(0.5)
        >>> m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        tensor(0.5000)
    """

    _value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["specificity"], rates["sensitivity"])


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """Best specificity among thresholds whose sensitivity is >= `sensitivity`.

    Example:
        >>> m = kiln.metrics.SpecificityAtSensitivity(0.5)
        >>> m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        tensor(0.6667)
    """

    _value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["sensitivity"], rates["specificity"])


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """Best precision among thresholds whose recall is >= `recall`.

    Example:
        >>> m = kiln.metrics.PrecisionAtRecall(0.5)
        >>> m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        tensor(0.5000)
    """

    _value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["recall"], rates["precision"])


class RecallAtPrecision(_SensitivitySpecificityBase):
    """Best recall among thresholds whose precision is >= `precision`.

    Example:
        >>> m = kiln.metrics.RecallAtPrecision(0.8)
        >>> m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        tensor(0.5000)
    """

    _value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["precision"], rates["recall"])
