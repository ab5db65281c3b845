"""`FBetaScore` and `F1Score`: the weighted harmonic mean of precision and recall."""

import torch

from kiln.losses._common import epsilon, to_tensor
from kiln.metrics.metric import Metric
from kiln.metrics.reduction_metrics import accumulate


class FBetaScore(Metric):
    """F-beta score for multi-class / multi-label predictions `(batch, classes)`.

    Args:
        average: None (one score per class), `"micro"` (counts pooled over classes),
            `"macro"` (mean of per-class scores) or `"weighted"` (weighted by support).
        beta: Weight of recall relative to precision (a float > 0).
        threshold: Predictions above it are positive; None means the row's arg-max
            (every class tied for the maximum) is the positive prediction.
        name, dtype: As for every metric.

    Example:
        >>> m = kiln.metrics.FBetaScore(beta=2.0, threshold=0.5)
        >>> m([[1, 1, 1], [1, 0, 0]], [[0.9, 0.1, 0.8], [0.2, 0.6, 0.3]])
        tensor([0.5556, 0.0000, 1.0000])
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average!r}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta!r} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold!r} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}."
            )
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(name=name, shape=shape, initializer="zeros",
                                                  dtype=self.dtype))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        with torch.no_grad():
            y_true = to_tensor(y_true, self.dtype)
            y_pred = to_tensor(y_pred, self.dtype, device=y_true.device)
            if not self._built:
                self._build(y_true.shape, y_pred.shape)
            if self.threshold is None:
                row_max = torch.amax(y_pred, dim=-1, keepdim=True)
                predicted = (y_pred >= row_max) & (torch.abs(y_pred) > 1e-9)
            else:
                predicted = y_pred > self.threshold
            predicted = predicted.to(y_pred.dtype)
            if sample_weight is not None:
                sample_weight = to_tensor(sample_weight, self.dtype, device=y_true.device)

            def weighted_sum(value):
                if sample_weight is not None:
                    value = value * sample_weight.unsqueeze(1)
                return value.sum() if self.axis is None else value.sum(self.axis)

            accumulate(self.true_positives, weighted_sum(predicted * y_true))
            accumulate(self.false_positives, weighted_sum(predicted * (1 - y_true)))
            accumulate(self.false_negatives, weighted_sum((1 - predicted) * y_true))
            accumulate(self.intermediate_weights, weighted_sum(y_true))

    def result(self):
        eps = epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        beta_sq = self.beta ** 2
        f_score = (precision * recall) / (beta_sq * precision + recall + eps) * (1 + beta_sq)
        if self.average == "weighted":
            support = self.intermediate_weights.value
            f_score = torch.sum(f_score * support / (support.sum() + eps))
        elif self.average is not None:
            f_score = f_score.mean()
        return f_score.detach().clone()

    def reset_state(self):
        for v in self.variables:
            v.assign(torch.zeros(v.shape, dtype=v.value.dtype))

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the harmonic mean of precision and recall (`FBetaScore` with beta=1).

    Example:
        >>> m = kiln.metrics.F1Score(threshold=0.5)
        >>> m([[1, 1, 1], [1, 0, 0]], [[0.9, 0.1, 0.8], [0.2, 0.6, 0.3]])
        tensor([0.6667, 0.0000, 1.0000])
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
