"""`kiln.losses.LossFunctionWrapper`: a `Loss` made from a plain function."""

from kiln.losses.loss import Loss
from kiln.losses.reduction import squeeze_or_expand_to_same_rank


class LossFunctionWrapper(Loss):
    """Wraps `fn(y_true, y_pred, **kwargs)` (per-sample values) into a `Loss`.

    Before calling `fn`, a trailing dimension of size 1 is squeezed or added so that
    `y_true` and `y_pred` have the same rank (e.g. labels `(batch,)` against
    predictions `(batch, 1)`).

    Args:
        fn: The loss function.
        reduction: See `kiln.losses.Loss`.
        name: Name of the instance.
        dtype: Computation dtype.
        **kwargs: Extra keyword arguments passed to `fn` on every call.

    Example:
        >>> loss = kiln.losses.LossFunctionWrapper(kiln.losses.huber, delta=0.5)
        >>> loss([[0.0]], [[2.0]])
        tensor(0.8750)
    """

    # Keras does not export this class publicly, so its files name it by source path.
    _keras_envelope = ("keras.src.losses.losses", "LossFunctionWrapper", "LossFunctionWrapper")

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not callable(fn):
            raise TypeError(
                f"LossFunctionWrapper expects a callable `fn(y_true, y_pred)`. Received: fn={fn!r}"
            )
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        from kiln.saving import serialize_keras_object

        config = super().get_config()
        config["fn"] = serialize_keras_object(self.fn)
        config.update({k: serialize_keras_object(v) for k, v in self._fn_kwargs.items()})
        return config

    @classmethod
    def from_config(cls, config):
        import inspect

        config = dict(config)
        # Keras 2 wrote built-in losses with their function (`fn`) and reduction "auto".
        if config.get("reduction") == "auto":
            config["reduction"] = "sum_over_batch_size"
        if "fn" in config and "fn" not in inspect.signature(cls.__init__).parameters:
            config.pop("fn")
        if "fn" in config:
            from kiln.saving import deserialize_keras_object

            config = {
                k: deserialize_keras_object(v) if k == "fn" or _is_serialized_object(v) else v
                for k, v in config.items()
            }
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


def _is_serialized_object(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value
