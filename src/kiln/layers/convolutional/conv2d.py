"""`Conv2D`: spatial convolution over images."""

from kiln.layers.convolutional.base_conv import BaseConv


class Conv2D(BaseConv):
    """2D convolution over `(batch, height, width, channels)` (or channels-first) inputs.

    The kernel has shape `(kh, kw, in_channels // groups, filters)`, as in Keras weight
    files. "same" padding follows TensorFlow's rule (an odd padding cell goes at the
    bottom/right), also for even kernels and strides > 1.

    Example:
        >>> layer = kiln.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")
        >>> layer(np.ones((2, 15, 15, 3), "float32")).shape
        torch.Size([2, 8, 8, 8])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=2, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, groups=groups,
            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
