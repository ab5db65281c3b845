"""`Dropout`: zeros a random fraction of inputs during training (inverted dropout)."""

import numbers

from kiln import random as krandom
from kiln.layers.layer import Layer


def _check_noise_shape(noise_shape):
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str):
        raise ValueError(
            "Dropout expects `noise_shape` to be a tuple or list of integers (or None). "
            f"Received: noise_shape={noise_shape!r}"
        )
    try:
        noise_shape = tuple(noise_shape)
    except TypeError:
        raise ValueError(
            "Dropout expects `noise_shape` to be an iterable of integers (e.g. a tuple). "
            f"Received: noise_shape={noise_shape!r}"
        ) from None
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise ValueError(
                "Dropout expects every `noise_shape` entry to be an integer or None. "
                f"Received element at index {i}: {dim!r} (type: {type(dim).__name__})"
            )
        if dim <= 0:
            raise ValueError(
                "Dropout expects every `noise_shape` entry to be positive or None. "
                f"Received {dim} at index {i}."
            )
    return noise_shape


class Dropout(Layer):
    """Sets inputs to 0 with probability `rate` in training and scales the others by
    `1 / (1 - rate)`; at inference it returns its input unchanged.

    Args:
        rate: Fraction of inputs to drop, between 0 and 1.
        noise_shape: Shape of the keep/drop mask, broadcast to the input; `None` entries
            take the input's size (e.g. `(batch, 1, features)` drops whole features).
        seed: Integer seed for reproducible masks. Without one, masks come from torch's
            global RNG, so `torch.manual_seed` makes them reproducible.

    Example:
        >>> layer = kiln.layers.Dropout(0.5, seed=1)
        >>> layer(np.ones((2, 4)), training=True).unique().tolist()  # zeros and twos
        [0.0, 2.0]
        >>> layer(np.ones((2, 4))).unique().tolist()  # inference: identity
        [1.0]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(
                "Dropout expects `rate` to be a float between 0 and 1. "
                f"Received: rate={rate!r}"
            )
        self.rate = rate
        self.seed = seed
        self.noise_shape = _check_noise_shape(noise_shape)
        if rate > 0:
            self.seed_generator = krandom.SeedGenerator(seed)
        self.supports_masking = True
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return krandom.dropout(inputs, self.rate, noise_shape=self.noise_shape,
                                   seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
        return {**super().get_config(), **config}
