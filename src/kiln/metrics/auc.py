"""`kiln.metrics.AUC`: area under the ROC or precision-recall curve, from binned counts."""

import numpy as np
import torch

from kiln.losses._common import divide_no_nan, epsilon, to_tensor
from kiln.metrics import confusion_utils
from kiln.metrics.metric import Metric

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Approximate area under the ROC or PR curve, accumulated over batches.

    Predictions are counted into `num_thresholds` bins (TP/FP/TN/FN per threshold);
    the area is a Riemann sum over those points (`summation_method`). The PR curve with
    `"interpolation"` uses the interpolation of Davis & Goadrich (2006), like Keras.

    Args:
        num_thresholds: Number of thresholds evenly spaced over [0, 1] (default 200).
        curve: `"ROC"` (default), `"PR"` or `"PRGAIN"`.
        summation_method: `"interpolation"` (default), `"majoring"` or `"minoring"`.
        name, dtype: As for every metric.
        thresholds: Explicit thresholds in [0, 1] instead of `num_thresholds`.
        multi_label: Keep one curve per label (column) and average the areas.
        num_labels: Number of labels when `multi_label`; otherwise found on first update.
        label_weights: Per-label weights for the average (or for the counts when not
            `multi_label`).
        from_logits: Apply a sigmoid to predictions first.

    Example:
        >>> m = kiln.metrics.AUC(num_thresholds=3)
        >>> m([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
        tensor(0.7500)
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._direction = "up"
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(float(t) for t in thresholds)
            self._thresholds_distributed_evenly = (
                confusion_utils.is_evenly_distributed_thresholds([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = epsilon()
        self._thresholds = np.array([0.0 - eps] + thresholds + [1.0 + eps])
        self.curve = _parse_curve(curve)
        self.summation_method = _parse_summation(summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None
        if isinstance(label_weights, dict) and "value" in label_weights.get("config", {}):
            # Keras writes the weights as a serialized tensor (which Keras itself cannot
            # read back); kiln writes a plain list and reads both.
            label_weights = label_weights["config"]["value"]
        if label_weights is not None:
            self.label_weights = to_tensor(label_weights, self.dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds, including the two just outside [0, 1]."""
        return [float(t) for t in self._thresholds]

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                                 f"{len(shape)}. Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, name, self.add_variable(shape=variable_shape, initializer="zeros",
                                                  name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred).detach()
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        confusion_utils.update_confusion_matrix_variables(
            {"tp": self.true_positives, "tn": self.true_negatives,
             "fp": self.false_positives, "fn": self.false_negatives},
            y_true, y_pred, self._thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)

    def interpolate_pr_auc(self):
        """PR-AUC with precision interpolated between thresholds (Davis & Goadrich)."""
        n = self.num_thresholds
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        dtp = tp[: n - 1] - tp[1:]
        p = tp + fp
        dp = p[: n - 1] - p[1:]
        slope = divide_no_nan(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[: n - 1] > 0) & (p[1:] > 0)
        ratio = torch.where(both_positive, divide_no_nan(p[: n - 1], torch.clamp(p[1:], min=0)),
                            torch.ones_like(p[1:]))
        increment = divide_no_nan(slope * (dtp + intercept * torch.log(ratio)),
                                  torch.clamp(tp[1:] + fn[1:], min=0))
        return self._aggregate(increment)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc().detach().clone()
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            no_tp = tp == 0
            x = torch.clamp(torch.where(no_tp, torch.zeros_like(recall_gain), recall_gain), min=0.0)
            y = torch.where(no_tp, torch.ones_like(precision_gain), precision_gain)
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[: n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[: n - 1], y[1:])
        else:
            heights = torch.maximum(y[: n - 1], y[1:])
        return self._aggregate((x[: n - 1] - x[1:]) * heights).detach().clone()

    def _aggregate(self, terms):
        if not self.multi_label:
            return terms.sum()
        by_label = terms.sum(0)
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def reset_state(self):
        if self._built:
            for v in (self.true_positives, self.false_positives, self.true_negatives,
                      self.false_negatives):
                v.assign(torch.zeros(v.shape))

    def get_config(self):
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config = {
            "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels, "label_weights": label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return {**super().get_config(), **config}


def _parse_curve(curve):
    value = getattr(curve, "value", curve)  # accepts Keras's AUCCurve enum too
    if isinstance(value, str) and value.lower() in _CURVES:
        return _CURVES[value.lower()]
    raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                     '["PR", "ROC", "PRGAIN"]')


def _parse_summation(method):
    value = getattr(method, "value", method)
    if isinstance(value, str) and value.lower() in _SUMMATIONS:
        return value.lower()
    raise ValueError(f'Invalid AUC summation method value: "{method}". Expected values are '
                     '["interpolation", "majoring", "minoring"]')
