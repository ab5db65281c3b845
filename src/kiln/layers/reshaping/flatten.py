"""`Flatten`: collapses every non-batch axis into one."""

import math

from kiln.layers.convolutional import conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class Flatten(Layer):
    """Flattens `(batch, d1, d2, ...)` to `(batch, d1 * d2 * ...)`.

    With `data_format="channels_first"` the channel axis is moved last before flattening,
    so a model converted between data formats keeps the same element order (Keras's rule).

    Example:
        >>> layer = kiln.layers.Flatten()
        >>> layer(np.ones((2, 3, 4), "float32")).shape
        torch.Size([2, 12])
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        rank = inputs.dim()
        if self.data_format == "channels_first" and rank > 2:
            inputs = inputs.permute(0, *range(2, rank), 1)
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
