"""`UpSampling2D`: enlarges images by integer factors."""

import torch.nn.functional as F

from kiln.layers.convolutional import base_conv, conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


class UpSampling2D(Layer):
    """Repeats rows and columns `size` times ("nearest") or resizes by interpolation.

    "bilinear" and "bicubic" use half-pixel centres without antialiasing
    (`torch.nn.functional.interpolate(..., align_corners=False)`), which is what Keras 3
    computes on the torch backend.

    Example:
        >>> layer = kiln.layers.UpSampling2D(size=(2, 3))
        >>> layer(np.ones((1, 4, 4, 3), "float32")).shape
        torch.Size([1, 8, 12, 3])
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.size = conv_utils.standardize_tuple(size, 2, "size")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` must be one of {_INTERPOLATIONS}. "
                f"Received: interpolation={interpolation!r}")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        sh, sw = self.size
        if self.interpolation == "nearest":
            # One copy: broadcast each row/column into its block, then merge the axes.
            n = inputs.shape[0]
            if self.data_format == "channels_last":
                _, h, w, c = inputs.shape
                x = inputs[:, :, None, :, None, :].expand(n, h, sh, w, sw, c)
                return x.reshape(n, h * sh, w * sw, c)
            _, c, h, w = inputs.shape
            x = inputs[:, :, :, None, :, None].expand(n, c, h, sh, w, sw)
            return x.reshape(n, c, h * sh, w * sw)
        x = base_conv.to_torch_layout(inputs, 2, self.data_format)
        x = F.interpolate(x, size=(x.shape[2] * sh, x.shape[3] * sw), mode=self.interpolation,
                          align_corners=False)
        return base_conv.from_torch_layout(x, 2, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = 1 if self.data_format == "channels_last" else 2
        for i in range(2):
            if shape[first + i] is not None:
                shape[first + i] *= self.size[i]
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config
