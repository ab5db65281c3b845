"""`kiln.losses.Loss`: the base class of every loss object."""

from kiln.losses import reduction as reduction_lib
from kiln.losses._common import auto_name, compute_dtype, get_keras_mask, to_tensor


class Loss:
    """Base class for losses: `call()` gives per-sample values, `__call__` reduces them.

    Subclasses implement `call(y_true, y_pred)` and return one loss value per sample
    (or per timestep/pixel). Calling the loss converts both inputs to the loss dtype,
    applies any mask and `sample_weight`, and reduces as `reduction` says.

    Args:
        name: Name of the loss instance; defaults to the snake_case class name.
        reduction: One of `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"`, `"none"` or `None`. See
            `kiln.losses.reduction` for the exact rules.
        dtype: Computation dtype (or a dtype policy); defaults to `"float32"`.

    Example:
        >>> class MeanCubedError(kiln.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return torch.mean(torch.abs(y_pred - y_true) ** 3, dim=-1)
        >>> MeanCubedError()([[0.0, 0.0]], [[1.0, 2.0]])
        tensor(4.5000)
    """

    # Subclasses whose `y_true` holds class indices keep the label dtype instead of
    # casting labels to the float compute dtype (same values, no round trip).
    _labels_are_indices = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or auto_name(self.__class__.__name__)
        self.reduction = reduction_lib.standardize_reduction(reduction)
        self._dtype = compute_dtype(dtype)

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = get_keras_mask(y_pred)
        y_pred = to_tensor(y_pred, self._dtype)
        label_dtype = None if self._labels_are_indices else self._dtype
        y_true = to_tensor(y_true, label_dtype, device=y_pred.device)
        losses = self.call(y_true, y_pred)
        out_mask = get_keras_mask(losses)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.bool() & out_mask.bool()
        else:
            mask = in_mask if in_mask is not None else out_mask
        if (sample_weight is None and mask is None and losses.dim() > 0 and losses.numel() > 0
                and self.reduction in ("sum_over_batch_size", "mean")):
            # The common training case, kept to a single kernel.
            return to_tensor(losses, self._dtype).mean()
        return reduction_lib.reduce_weighted_values(
            losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
            dtype=self._dtype,
        )

    def call(self, y_true, y_pred):
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `call(y_true, y_pred)` and return "
            "the per-sample loss values."
        )

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Keras 2 wrote built-in losses with their function (`fn`) and reduction "auto".
        if "fn" in config and "fn" not in _init_params(cls):
            config.pop("fn")
        if config.get("reduction") == "auto":
            config["reduction"] = "sum_over_batch_size"
        return cls(**config)

    def __repr__(self):
        return f"<{self.__class__.__name__} name={self.name}>"


def _init_params(cls):
    import inspect

    return inspect.signature(cls.__init__).parameters
