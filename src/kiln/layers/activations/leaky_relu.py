"""`LeakyReLU`: `x` for `x >= 0`, `negative_slope * x` below."""

import warnings

import torch

from kiln.layers.layer import Layer


class LeakyReLU(Layer):
    """Leaky rectified linear unit.

    Args:
        negative_slope: Non-negative slope for negative inputs (default 0.3). The
            deprecated name `alpha` is still accepted, with a warning, as in Keras 3.

    Example:
        >>> kiln.layers.LeakyReLU(negative_slope=0.5)(np.array([-2.0, 2.0]))
        tensor([-1.,  2.])
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(
                "LeakyReLU expects `negative_slope` to be a non-negative number. "
                f"Received: negative_slope={negative_slope}"
            )
        self.negative_slope = negative_slope
        self.supports_masking = True
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs):
        return torch.nn.functional.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"negative_slope": self.negative_slope})
        return config
