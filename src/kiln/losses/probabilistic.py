"""Probabilistic loss functions: cross-entropies, KL divergence, Poisson.

Numerics follow Keras 3: probabilities (``from_logits=False``) are clipped to
``[epsilon, 1 - epsilon]`` (1e-7) before the log; logits go through fused torch kernels
(`cross_entropy`, `binary_cross_entropy_with_logits`). The `Loss` classes wrapping
these functions are in `probabilistic_losses.py`.
"""

import warnings

import torch
import torch.nn.functional as F

from kiln.losses._common import canonical_axis, epsilon, set_keras_mask, to_tensor


def _float_pair(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    return to_tensor(y_true, y_pred.dtype, device=y_pred.device), y_pred


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")


def _warn_single_class(fn_name, y_pred):
    if y_pred.dim() and y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {fn_name}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning, stacklevel=3,
        )


def _clipped_probs(y_pred, axis):
    """Renormalizes probabilities along `axis` and clips them away from 0 and 1."""
    eps = epsilon()
    y_pred = y_pred / torch.sum(y_pred, dim=axis, keepdim=True)
    return torch.clamp(y_pred, eps, 1.0 - eps)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy, averaged over `axis`.

    Args:
        y_true: Targets in [0, 1], same shape as `y_pred`.
        y_pred: Probabilities, or logits when `from_logits=True`.
        from_logits: Whether `y_pred` holds logits.
        label_smoothing: Moves targets towards 0.5 by this fraction.
        axis: Axis to average over.

    Example:
        >>> kiln.losses.binary_crossentropy([[1.0, 0.0]], [[0.9, 0.2]])
        tensor([0.1643])
    """
    y_true, y_pred = _float_pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        eps = epsilon()
        values = F.binary_cross_entropy(torch.clamp(y_pred, eps, 1.0 - eps), y_true, reduction="none")
    return torch.mean(values, dim=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy scaled by `(1 - p_t) ** gamma`, averaged over `axis`.

    With `apply_class_balancing`, positives are weighted by `alpha` and negatives by
    `1 - alpha`.

    Example:
        >>> kiln.losses.binary_focal_crossentropy([[1.0, 0.0]], [[0.9, 0.2]], gamma=2.0)
        tensor([0.0050])
    """
    y_true, y_pred = _float_pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    _check_same_shape("binary_focal_crossentropy", y_true, y_pred)
    eps = epsilon()
    bce = F.binary_cross_entropy(torch.clamp(y_pred, eps, 1.0 - eps), y_true, reduction="none")
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal_bce = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal_bce
    return torch.mean(focal_bce, dim=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot (or soft) targets and predicted distributions.

    Args:
        y_true: One-hot or soft targets, same shape as `y_pred`.
        y_pred: Probabilities (renormalized along `axis`), or logits.
        from_logits: Whether `y_pred` holds logits.
        label_smoothing: Mixes targets with the uniform distribution by this fraction.
        axis: The class axis.

    Example:
        >>> kiln.losses.categorical_crossentropy([[0.0, 1.0]], [[0.2, 0.8]])
        tensor([0.2231])
    """
    _check_axis(axis)
    y_true, y_pred = _float_pair(y_true, y_pred)
    _warn_single_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        num_classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    _check_same_shape("categorical_crossentropy", y_true, y_pred)
    if y_pred.dim() < 1:
        raise ValueError("categorical_crossentropy expects inputs of rank >= 1; received scalars.")
    if from_logits:
        if y_pred.dim() == 1:
            return F.cross_entropy(y_pred, y_true, reduction="none")
        class_axis = canonical_axis(axis, y_pred.dim())
        if class_axis != 1:
            y_pred, y_true = y_pred.movedim(class_axis, 1), y_true.movedim(class_axis, 1)
        return F.cross_entropy(y_pred, y_true, reduction="none")
    log_prob = torch.log(_clipped_probs(y_pred, axis))
    return -torch.sum(y_true * log_prob, dim=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy with each class term scaled by `alpha * (1 - p) ** gamma`.

    Example:
        >>> kiln.losses.categorical_focal_crossentropy([[0.0, 1.0]], [[0.2, 0.8]])
        tensor([0.0022])
    """
    _check_axis(axis)
    y_true, y_pred = _float_pair(y_true, y_pred)
    _warn_single_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        num_classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    output = _clipped_probs(y_pred, axis)
    cce = -y_true * torch.log(output)
    focal = alpha * torch.pow(1.0 - output, gamma) * cce
    return torch.sum(focal, dim=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy between integer class labels and predicted distributions.

    Args:
        y_true: Class indices in any integer dtype (or integer-valued floats), shaped
            like `y_pred` without the class axis (a trailing size-1 axis is allowed).
        y_pred: Probabilities (renormalized along `axis`), or logits.
        from_logits: Whether `y_pred` holds logits (uses torch's fused `cross_entropy`).
        ignore_class: A label value to exclude: those entries get loss 0 and are masked
            out of the reduction (the result carries a `_keras_mask`).
        axis: The class axis.

    Example:
        >>> kiln.losses.sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        tensor([0.0513, 2.3026])
    """
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    y_true = to_tensor(y_true, device=y_pred.device)
    if y_pred.dim() < 1:
        raise ValueError("sparse_categorical_crossentropy expects `y_pred` of rank >= 1; "
                         "received a scalar.")
    class_axis = canonical_axis(axis, y_pred.dim())
    if y_true.dim() == y_pred.dim() and y_true.shape[class_axis] == 1:
        y_true = y_true.squeeze(class_axis)
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
    if tuple(y_true.shape) != expected:
        raise ValueError(
            "sparse_categorical_crossentropy expects labels shaped like the predictions "
            f"without the class axis, i.e. {expected}. Received: y_true.shape="
            f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}. Use "
            "categorical_crossentropy for one-hot labels."
        )
    target = y_true.long()
    ignore_index = -100 if ignore_class is None else int(ignore_class)
    if y_pred.dim() == 1:
        y_pred, target = y_pred.unsqueeze(0), target.unsqueeze(0)
    elif class_axis != 1:
        y_pred = y_pred.movedim(class_axis, 1)
    if from_logits:
        result = F.cross_entropy(y_pred, target, reduction="none", ignore_index=ignore_index)
    else:
        log_prob = torch.log(_clipped_probs(y_pred, 1))
        result = F.nll_loss(log_prob, target, reduction="none", ignore_index=ignore_index)
    result = result.reshape(expected)
    if ignore_class is not None:
        set_keras_mask(result, (target != ignore_index).reshape(expected))
    return result


def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))` over the last axis.

    Both inputs are clipped to `[epsilon, 1]`.

    Example:
        >>> kiln.losses.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])
        tensor([0.1438])
    """
    y_true, y_pred = _float_pair(y_true, y_pred)
    eps = epsilon()
    y_true = torch.clamp(y_true, eps, 1.0)
    y_pred = torch.clamp(y_pred, eps, 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


def poisson(y_true, y_pred):
    """Poisson loss `mean(y_pred - y_true * log(y_pred + epsilon))` over the last axis.

    Example:
        >>> kiln.losses.poisson([[1.0]], [[1.0]])
        tensor([1.0000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred)
    return torch.mean(y_pred - y_true * torch.log(y_pred + epsilon()), dim=-1)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy `(1 - p ** q) / q`, `p` the probability of the true class.

    Example:
        >>> kiln.losses.categorical_generalized_cross_entropy([1], [[0.36, 0.64]], q=0.5)
        tensor([0.4000])
    """
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    labels = to_tensor(y_true, device=y_pred.device).long()
    one_hot = F.one_hot(labels, num_classes=y_pred.shape[-1]).to(y_pred.dtype)
    p = torch.sum(y_pred * one_hot, dim=-1)
    return (1 - torch.pow(p, q)) / q


def _check_same_shape(fn_name, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{fn_name} expects `y_true` and `y_pred` of the same shape. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}. "
            "Reshape the labels to match the predictions."
        )
