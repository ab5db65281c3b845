"""`ZeroPadding2D`: adds rows and columns of zeros around images."""

import torch.nn.functional as F

from kiln.layers.convolutional import conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


def _standardize_padding(padding):
    if isinstance(padding, int) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"`padding` must be >= 0. Received: padding={padding}")
        return ((padding, padding), (padding, padding))
    if hasattr(padding, "__len__") and len(padding) == 2:
        return (conv_utils.standardize_tuple(padding[0], 2, "padding[0]", allow_zero=True),
                conv_utils.standardize_tuple(padding[1], 2, "padding[1]", allow_zero=True))
    raise ValueError(
        "`padding` must be an int, a tuple of 2 ints (symmetric height and width padding), or "
        "a tuple of 2 tuples of 2 ints ((top, bottom), (left, right)). "
        f"Received: padding={padding!r}")


class ZeroPadding2D(Layer):
    """Pads the height and width axes of 4D inputs with zeros.

    `padding` is an int, `(symmetric_height, symmetric_width)`, or
    `((top, bottom), (left, right))`.

    Example:
        >>> layer = kiln.layers.ZeroPadding2D(((1, 0), (2, 3)))
        >>> layer(np.ones((1, 4, 4, 3), "float32")).shape
        torch.Size([1, 5, 9, 3])
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.padding = _standardize_padding(padding)
        (top, bottom), (left, right) = self.padding
        # F.pad lists the last axis first.
        spatial = (left, right, top, bottom)
        self._pad = (0, 0) + spatial if self.data_format == "channels_last" else spatial
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return F.pad(inputs, self._pad)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = 1 if self.data_format == "channels_last" else 2
        for i, (before, after) in enumerate(self.padding):
            if shape[first + i] is not None:
                shape[first + i] += before + after
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
