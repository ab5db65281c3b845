"""Circle loss for metric learning on L2-normalized embeddings (function and class)."""

import torch
import torch.nn.functional as F

from kiln.losses._common import set_keras_mask, to_tensor
from kiln.losses.loss import Loss
from kiln.losses.loss_function_wrapper import LossFunctionWrapper


def _pos_neg_masks(query_labels, key_labels, remove_diagonal=True):
    query = query_labels.reshape(-1, 1)
    key = key_labels.reshape(-1, 1)
    positive = query == key.T
    negative = ~positive
    if remove_diagonal:
        eye = torch.eye(query.shape[0], key.shape[0], dtype=torch.bool, device=positive.device)
        positive = positive & ~eye
    return positive, negative


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss between integer labels and unit-norm embeddings `(batch, dim)`.

    Pairs with the same label are pulled together, others pushed apart, each pair
    weighted by how far it is from its optimum. Samples whose loss is 0 are masked
    out of the mean.

    Example:
        >>> emb = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
        >>> kiln.losses.circle([0, 0, 1, 1], emb).shape
        torch.Size([4])
    """
    y_pred = to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    labels = to_tensor(y_true, device=y_pred.device).to(torch.int32)
    ref_embeddings = y_pred if ref_embeddings is None else to_tensor(ref_embeddings, y_pred.dtype, y_pred.device)
    ref_labels = labels if ref_labels is None else to_tensor(ref_labels, device=y_pred.device).to(torch.int32)

    distances = torch.clamp(1 - y_pred @ ref_embeddings.T, min=0.0)
    positive, negative = _pos_neg_masks(labels, ref_labels, remove_diagonal)
    pos_f, neg_f = positive.to(distances.dtype), negative.to(distances.dtype)

    pos_weights = torch.clamp((margin + distances) * pos_f, min=0.0)
    neg_weights = torch.clamp((1 + margin - distances) * neg_f, min=0.0)
    pos_wdists = -gamma * pos_weights * (margin - distances)
    neg_wdists = gamma * neg_weights * ((1 - margin) - distances)

    minus_inf = torch.tensor(float("-inf"), dtype=distances.dtype, device=distances.device)
    p_loss = torch.logsumexp(torch.where(positive, pos_wdists, minus_inf), dim=1)
    n_loss = torch.logsumexp(torch.where(negative, neg_wdists, minus_inf), dim=1)
    loss = F.softplus(p_loss + n_loss)
    return set_keras_mask(loss, loss > 0)


class Circle(LossFunctionWrapper):
    """Circle loss (see `circle`).

    Example:
        >>> emb = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
        >>> kiln.losses.Circle()([0, 0, 1, 1], emb).shape
        torch.Size([])
    """

    _labels_are_indices = True

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, name=name, reduction=reduction, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def get_config(self):
        return {**Loss.get_config(self), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}
