"""How per-sample losses, sample weights and masks become one number (Keras 3 rules).

* `sample_weight` is broadcast against the per-sample losses after a trailing
  dimension of size 1 is squeezed or added so their ranks agree.
* A mask (on `y_pred` or on the loss values) zeroes the masked entries; with the
  `"sum_over_batch_size"` and `"mean"` reductions the valid ones are scaled by
  `total / valid`, so the result is the mean over the valid entries only.
* `"sum_over_batch_size"` and `"mean"` divide the weighted sum by the number of loss
  values (zero weights still count), `"mean_with_sample_weight"` by the sum of the
  weights, `"sum"` does not divide, `"none"` / `None` return the values unreduced.
"""

import torch

from kiln.core import dtypes
from kiln.losses._common import divide_no_nan, to_tensor

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    """Checks that `reduction` is one Keras accepts and returns it unchanged."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Makes the ranks of `x1` and `x2` equal when they differ by a trailing 1.

    The tensor with the extra trailing dimension of size 1 loses it, except that a
    rank-1 partner gains one instead (when `expand_rank_1`).

    Example:
        >>> a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 1), torch.zeros(4))
        >>> a.shape, b.shape
        (torch.Size([4, 1]), torch.Size([4, 1]))
    """
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def apply_mask(sample_weight, mask, dtype, reduction):
    """Folds a boolean mask into the sample weights (see the module docstring)."""
    if mask is None:
        return sample_weight
    mask = to_tensor(mask)
    dtype = dtypes.to_torch(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        bool_mask = mask.bool()
        total = torch.tensor(float(mask.numel()), dtype=dtype, device=mask.device)
        valid = bool_mask.sum().to(dtype)  # may be 0
        scale = divide_no_nan(total, valid)
        float_mask = torch.where(bool_mask, scale, torch.zeros((), dtype=dtype, device=mask.device))
    else:
        float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = to_tensor(sample_weight, dtype, device=float_mask.device)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces already weighted loss values according to `reduction`."""
    if reduction is None or reduction == "none" or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    loss = values.sum()
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = sample_weight.sum().to(loss.dtype)
        else:
            divisor = torch.tensor(float(values.numel()), dtype=loss.dtype, device=loss.device)
        loss = divide_no_nan(loss, divisor)
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Applies `mask` and `sample_weight` to per-sample `values`, then reduces them.

    Example:
        >>> reduce_weighted_values(torch.tensor([1.0, 3.0]), sample_weight=[1.0, 0.0])
        tensor(0.5000)
    """
    reduction = standardize_reduction(reduction)
    values = to_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, values.dtype, device=values.device)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        sample_weight = sample_weight.to(values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)
