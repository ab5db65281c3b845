"""Connectionist Temporal Classification loss (function and class)."""

import torch
import torch.nn.functional as F

from kiln.losses._common import to_tensor
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper


def ctc(y_true, y_pred):
    """CTC loss per sequence; label 0 is both the padding value and the blank class.

    Args:
        y_true: Integer labels `(batch, max_label_length)`, padded with 0.
        y_pred: Logits `(batch, timesteps, num_classes)`.

    Example:
        >>> logits = torch.zeros(1, 4, 3)
        >>> kiln.losses.ctc([[1, 2]], logits).shape
        torch.Size([1])
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    if y_true.dim() != 2:
        raise ValueError(
            "Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` "
            f"in integer format. Received: y_true.shape={tuple(y_true.shape)}"
        )
    if y_pred.dim() != 3:
        raise ValueError(
            "Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
            f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    if not y_pred.is_floating_point() or y_pred.dtype in (torch.float16, torch.bfloat16):
        y_pred = y_pred.float()
    batch, timesteps = y_pred.shape[0], y_pred.shape[1]
    targets = y_true.long()
    label_length = (targets != 0).sum(dim=-1)
    input_length = torch.full((batch,), timesteps, dtype=torch.long, device=y_pred.device)
    log_probs = F.log_softmax(y_pred.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, targets, input_length, label_length, blank=0, reduction="none")


class CTC(LossFunctionWrapper):
    """CTC loss (see `ctc`).

    Example:
        >>> kiln.losses.CTC()([[1, 2]], torch.zeros(1, 4, 3)).shape
        torch.Size([])
    """

    _labels_are_indices = True

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
