"""Accumulating confusion-matrix counts (TP/FP/TN/FN) at a list of thresholds.

Keys are the strings `"tp"`, `"fp"`, `"tn"`, `"fn"`. A prediction counts as positive at
threshold `t` when it is strictly greater than `t`.

When the thresholds are evenly spaced over [0, 1] (AUC's default 200), each
prediction falls into one bucket and counts at every threshold below it, so one
scatter-add and a reversed cumulative sum replace a `(thresholds x predictions)`
comparison: O(n + T) instead of O(n * T). Bucket edges follow Keras exactly
(`ceil(p * (T - 1)) - 1`), so both paths give Keras's counts.
"""

import numpy as np
import torch

from kiln.losses._common import epsilon, to_tensor
from kiln.losses.reduction import squeeze_or_expand_to_same_rank

NEG_INF = -1e10
KEYS = ("tp", "fp", "tn", "fn")


def parse_init_thresholds(thresholds, default_threshold=0.5):
    """Returns the thresholds as a list, checking that each lies in [0, 1]."""
    if thresholds is not None:
        values = _to_list(thresholds)
        bad = [t for t in values if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return _to_list(default_threshold if thresholds is None else thresholds)


def is_evenly_distributed_thresholds(thresholds):
    """True when `thresholds` are `i / (n - 1)` for `i = 0..n-1` (n >= 3), up to epsilon."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, dtype=np.float64), even, atol=epsilon()))


def filter_top_k(x, k):
    """Keeps the `k` largest entries of the last axis; the others become -1e10."""
    k = min(int(k), x.shape[-1])
    idx = torch.topk(x, k, dim=-1).indices
    keep = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, idx, True)
    return torch.where(keep, x, torch.full_like(x, NEG_INF))


def update_confusion_matrix_variables(variables_to_update, y_true, y_pred, thresholds,
                                      top_k=None, class_id=None, sample_weight=None,
                                      multi_label=False, label_weights=None,
                                      thresholds_distributed_evenly=False):
    """Adds this batch's weighted TP/FP/TN/FN counts to the given variables.

    Args:
        variables_to_update: Dict from `"tp"`/`"fp"`/`"tn"`/`"fn"` to `kiln.Variable`s
            of shape `(len(thresholds),)` (or `(len(thresholds), labels)` if multi-label).
        y_true: Labels; anything non-zero is positive.
        y_pred: Scores, compared against each threshold.
        thresholds: A list of floats.
        top_k: Only the top `k` scores per row may count as positive.
        class_id: Only this column of the last axis is evaluated.
        sample_weight: Weights broadcastable to `y_pred`.
        multi_label: Keep per-label counts (second axis of `y_pred`) apart.
        label_weights: Per-label weights (only without `multi_label`).
        thresholds_distributed_evenly: Use the bucketed O(n + T) path.
    """
    if multi_label and label_weights is not None:
        raise ValueError("`label_weights` for multilabel data should be handled outside of "
                         "`update_confusion_matrix_variables` when `multi_label` is True.")
    invalid = [k for k in variables_to_update if k not in KEYS]
    if invalid or not variables_to_update:
        raise ValueError(f"Confusion-matrix variables must be keyed by {KEYS}. Received: "
                         f"{list(variables_to_update)}")
    first = next(iter(variables_to_update.values()))
    dtype, device = first.value.dtype, first.value.device
    y_true = to_tensor(y_true).detach().to(device=device, dtype=dtype)
    y_pred = to_tensor(y_pred).detach().to(device=device, dtype=dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight).to(device=device, dtype=dtype).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.dim() == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if label_weights is not None:
        label_weights = to_tensor(label_weights).to(device=device, dtype=dtype)

    weights = _combined_weights(sample_weight, label_weights, y_pred.shape)
    positive = (y_true != 0).to(dtype)
    if multi_label:
        if y_pred.dim() != 2:
            raise ValueError("Multi-label confusion counts expect y_pred of shape "
                             f"(batch, labels). Received: {tuple(y_pred.shape)}")
    else:
        y_pred, positive = y_pred.reshape(-1), positive.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)

    if thresholds_distributed_evenly:
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        counts = _bucketed_counts(y_pred, positive, weights, len(thresholds), with_epsilon,
                                  multi_label)
    else:
        thresholds = torch.as_tensor(np.asarray(thresholds), dtype=dtype, device=device)
        counts = _compared_counts(y_pred, positive, weights, thresholds, multi_label,
                                  need_negatives=bool({"tn", "fn"} & set(variables_to_update)))
    for key, variable in variables_to_update.items():
        variable.assign_add(counts[key]())


def _combined_weights(sample_weight, label_weights, shape):
    weights = None
    if sample_weight is not None:
        weights = torch.broadcast_to(sample_weight, shape)
    if label_weights is not None:
        lw = torch.broadcast_to(label_weights.unsqueeze(0) if label_weights.dim() else label_weights, shape)
        weights = lw if weights is None else weights * lw
    return weights


def _bucketed_counts(y_pred, positive, weights, num_thresholds, with_epsilon, multi_label):
    """TP/FP per threshold from one scatter-add per class of label (see module doc)."""
    pos = positive if weights is None else positive * weights
    neg = (1.0 - positive) if weights is None else (1.0 - positive) * weights
    buckets = torch.ceil(torch.clamp(y_pred, 0.0, 1.0) * (num_thresholds - 1)) - 1
    if with_epsilon:
        buckets = torch.relu(buckets)
    buckets = buckets.long()
    # Out-of-range buckets (a prediction of exactly 0 without the epsilon thresholds)
    # go to a spare slot that is dropped.
    buckets = torch.where((buckets < 0) | (buckets >= num_thresholds),
                          torch.full_like(buckets, num_thresholds), buckets)
    if multi_label:
        num_labels = y_pred.shape[1]
        offsets = torch.arange(num_labels, device=buckets.device) * (num_thresholds + 1)
        flat = (buckets + offsets).reshape(-1)
        size = num_labels * (num_thresholds + 1)
        tp_b = torch.zeros(size, dtype=pos.dtype, device=pos.device).scatter_add_(0, flat, pos.reshape(-1))
        fp_b = torch.zeros(size, dtype=neg.dtype, device=neg.device).scatter_add_(0, flat, neg.reshape(-1))
        tp_b = tp_b.reshape(num_labels, num_thresholds + 1)[:, :-1].T
        fp_b = fp_b.reshape(num_labels, num_thresholds + 1)[:, :-1].T
        tp = torch.flip(torch.cumsum(torch.flip(tp_b, [0]), 0), [0])
        fp = torch.flip(torch.cumsum(torch.flip(fp_b, [0]), 0), [0])
        return _from_totals(tp, fp, pos.sum(0), neg.sum(0))
    tp_b = torch.zeros(num_thresholds + 1, dtype=pos.dtype, device=pos.device).scatter_add_(0, buckets, pos)
    fp_b = torch.zeros(num_thresholds + 1, dtype=neg.dtype, device=neg.device).scatter_add_(0, buckets, neg)
    tp = torch.flip(torch.cumsum(torch.flip(tp_b[:-1], [0]), 0), [0])
    fp = torch.flip(torch.cumsum(torch.flip(fp_b[:-1], [0]), 0), [0])
    return _from_totals(tp, fp, pos.sum(), neg.sum())


def _from_totals(tp, fp, pos_total, neg_total):
    """Count thunks; TN and FN follow from the totals (Keras's bucketed path does this)."""
    return {"tp": lambda: tp, "fp": lambda: fp, "tn": lambda: neg_total - fp,
            "fn": lambda: pos_total - tp}


def _compared_counts(y_pred, positive, weights, thresholds, multi_label, need_negatives):
    """Count thunks from comparing every prediction with every threshold.

    Each cell is counted directly (not as a total minus another cell), as in Keras, so
    counts never pick up rounding below zero.
    """
    extra = (1,) * y_pred.dim()
    predicted_pos = (y_pred.unsqueeze(0) > thresholds.reshape(-1, *extra)).to(y_pred.dtype)
    predicted_neg = 1.0 - predicted_pos if need_negatives else None
    pos = positive if weights is None else positive * weights
    neg = (1.0 - positive) if weights is None else (1.0 - positive) * weights
    if multi_label:
        def count(pred, label):
            return lambda: torch.einsum("tnl,nl->tl", pred, label)
    else:
        def count(pred, label):
            return lambda: pred @ label
    return {"tp": count(predicted_pos, pos), "fp": count(predicted_pos, neg),
            "tn": count(predicted_neg, neg), "fn": count(predicted_neg, pos)}


def _to_list(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return [x]
