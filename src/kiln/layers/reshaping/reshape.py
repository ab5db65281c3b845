"""`Reshape`: gives each example a new shape, with one `-1` inferred."""

import math

from kiln.layers.layer import Layer


def resolve_target_shape(input_shape, target_shape):
    """`target_shape` with its `-1` replaced by the inferred size (None if unknown).

    `input_shape` excludes the batch axis. Raises if the sizes cannot match.
    """
    if any(d is None for d in input_shape):
        return tuple(None if d == -1 else d for d in target_shape)
    size = math.prod(input_shape)
    known = math.prod(d for d in target_shape if d != -1)
    if -1 not in target_shape:
        if size != known:
            raise ValueError(
                f"Reshape cannot turn examples of shape {tuple(input_shape)} ({size} values) "
                f"into target_shape={tuple(target_shape)} ({known} values). The total size "
                "must be unchanged; use -1 for one dimension to infer it.")
        return tuple(target_shape)
    if known == 0 or size % known:
        raise ValueError(
            f"Reshape cannot infer the -1 in target_shape={tuple(target_shape)} for examples of "
            f"shape {tuple(input_shape)} ({size} values is not a multiple of {known}).")
    return tuple(size // known if d == -1 else d for d in target_shape)


class Reshape(Layer):
    """Reshapes inputs to `(batch, *target_shape)`; one entry of `target_shape` may be -1.

    Example:
        >>> layer = kiln.layers.Reshape((-1, 4))
        >>> layer(np.ones((2, 3, 8), "float32")).shape
        torch.Size([2, 6, 4])
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(
                "`target_shape` must be a tuple of ints (one may be -1). "
                f"Received: target_shape={target_shape!r}") from None
        if any(d < -1 for d in target_shape) or target_shape.count(-1) > 1:
            raise ValueError(
                "`target_shape` must hold non-negative ints and at most one -1. "
                f"Received: target_shape={target_shape}")
        self.target_shape = target_shape
        # No variables: built from the start, as in Keras.
        self.built = True

    def call(self, inputs):
        shape = resolve_target_shape(tuple(inputs.shape[1:]), self.target_shape)
        return inputs.reshape((inputs.shape[0],) + shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + resolve_target_shape(tuple(input_shape)[1:],
                                                        self.target_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
