"""`Conv1D`: temporal convolution, with Keras's "causal" padding."""

from kiln.layers.convolutional.base_conv import BaseConv


class Conv1D(BaseConv):
    """1D convolution over `(batch, steps, channels)` (or channels-first) inputs.

    The kernel has shape `(kernel_size, in_channels // groups, filters)`. `padding` is one
    of "valid", "same" or "causal" (left padding only, so output `t` sees inputs `<= t`).

    Example:
        >>> layer = kiln.layers.Conv1D(8, 3, padding="causal")
        >>> layer(np.ones((2, 10, 4), "float32")).shape
        torch.Size([2, 10, 8])
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=1, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, groups=groups,
            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
