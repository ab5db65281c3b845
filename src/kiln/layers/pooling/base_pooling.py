"""`BasePooling`: windowed max / average pooling behind `MaxPooling*D` and `AveragePooling*D`.

"same" padding follows TensorFlow's rule (`conv_utils.same_padding`). Padded cells never
win a max and never count in an average: an average near the border divides by the
number of real cells in the window.
"""

import torch
import torch.nn.functional as F

from kiln.layers.convolutional import base_conv, conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

_MAX_FNS = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_FNS = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _lowest(dtype):
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


def max_pool(x, pool_size, strides, padding):
    """Max pooling of channels-first `x` with Keras's padding rules."""
    fn = _MAX_FNS[len(pool_size)]
    if padding == "valid":
        return fn(x, pool_size, strides)
    pads = _same_pads(x, pool_size, strides)
    if all(a == b for a, b in pads):  # torch pads with -inf itself
        return fn(x, pool_size, strides, tuple(a for a, _ in pads))
    x = F.pad(x, conv_utils.flat_pad(pads), value=_lowest(x.dtype))
    return fn(x, pool_size, strides)


def average_pool(x, pool_size, strides, padding):
    """Average pooling of channels-first `x`; padded cells are not counted."""
    fn = _AVG_FNS[len(pool_size)]
    if padding == "valid":
        return fn(x, pool_size, strides)
    pads = _same_pads(x, pool_size, strides)
    if all(a == b for a, b in pads):
        return fn(x, pool_size, strides, tuple(a for a, _ in pads), count_include_pad=False)
    # Asymmetric padding: torch cannot express it, so average zero-padded windows and
    # divide by the fraction of each window that lies inside the input.
    flat = conv_utils.flat_pad(pads)
    sums = fn(F.pad(x, flat), pool_size, strides)
    ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=sums.dtype, device=x.device)
    return sums / fn(F.pad(ones, flat), pool_size, strides)


def _same_pads(x, pool_size, strides):
    return [conv_utils.same_padding(x.shape[2 + i], pool_size[i], strides[i])
            for i in range(len(pool_size))]


class BasePooling(Layer):
    """Abstract N-D pooling layer; subclasses fix `rank` and `mode` ("max" or "average").

    Example:
        >>> layer = kiln.layers.MaxPooling2D(pool_size=3, strides=2, padding="same")
        >>> layer(np.ones((1, 7, 7, 4), "float32")).shape
        torch.Size([1, 4, 4, 4])
    """

    def __init__(self, pool_size, strides, rank, mode, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_mode = mode
        self.pool_size = conv_utils.standardize_tuple(pool_size, rank, "pool_size")
        self.strides = conv_utils.standardize_tuple(
            pool_size if strides is None else strides, rank, "strides")
        self.padding = conv_utils.standardize_padding(padding)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=rank + 2)
        # No variables: built from the start, so no build config is saved (as in Keras).
        self.built = True

    def call(self, inputs):
        x = base_conv.to_torch_layout(inputs, self.rank, self.data_format)
        pool = max_pool if self.pool_mode == "max" else average_pool
        x = pool(x, self.pool_size, self.strides, self.padding)
        return base_conv.from_torch_layout(x, self.rank, self.data_format)

    def compute_output_shape(self, input_shape):
        return conv_utils.windowed_output_shape(
            self.name, input_shape, None, self.pool_size, self.strides, self.padding,
            self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        })
        return config
