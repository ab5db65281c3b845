"""`DepthwiseConv2D`: one spatial filter bank per input channel."""

from kiln import activations, constraints, initializers, regularizers
from kiln.layers.convolutional import base_conv, conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


def depthwise_torch_kernel(kernel, dtype):
    """Keras's `(kh, kw, in, multiplier)` as torch's grouped `(in * multiplier, 1, kh, kw)`.

    Output channel `c * multiplier + m` comes from input channel `c`, as in Keras.
    """
    kh, kw, channels, multiplier = kernel.shape
    w = kernel.reshape(kh, kw, 1, channels * multiplier).permute(3, 2, 0, 1)
    return w if w.dtype == dtype else w.to(dtype)


class DepthwiseConv2D(Layer):
    """Depthwise 2D convolution: each input channel is convolved with its own
    `depth_multiplier` filters; outputs have `in_channels * depth_multiplier` channels.

    The kernel variable is named "kernel" (as in Keras 3) with shape
    `(kh, kw, in_channels, depth_multiplier)`; `depthwise_kernel` is an alias.

    Example:
        >>> layer = kiln.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer(np.ones((1, 8, 8, 4), "float32")).shape
        torch.Size([1, 8, 8, 8])
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        base_conv.check_positive("depth_multiplier", depth_multiplier)
        self.rank = 2
        self.depth_multiplier = depth_multiplier
        self.kernel_size = conv_utils.standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = conv_utils.standardize_tuple(strides, 2, "strides")
        self.dilation_rate = conv_utils.standardize_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = conv_utils.standardize_padding(padding)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=4)

    @property
    def depthwise_kernel(self):
        return self.kernel

    def build(self, input_shape):
        channels = base_conv.input_channels(self, input_shape)
        self.compute_output_shape(input_shape)  # validates the spatial sizes
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(channels * self.depth_multiplier,),
                initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                constraint=self.bias_constraint)
        self.input_spec = base_conv.channel_spec(self, channels)

    def call(self, inputs):
        x = base_conv.to_torch_layout(inputs, 2, self.data_format)
        weight = depthwise_torch_kernel(self.kernel.value, x.dtype)
        x = base_conv.convolve(x, weight, base_conv.cast_bias(self.bias, x.dtype),
                               self.kernel_size, self.strides, self.padding,
                               self.dilation_rate, groups=x.shape[1])
        return base_conv.apply_activation(self, base_conv.from_torch_layout(x, 2,
                                                                            self.data_format))

    def compute_output_shape(self, input_shape):
        channels = input_shape[conv_utils.channel_axis(self.data_format)] if len(
            input_shape) == 4 else None
        return conv_utils.windowed_output_shape(
            self.name, input_shape, None if channels is None else channels * self.depth_multiplier,
            self.kernel_size, self.strides, self.padding, self.data_format, self.dilation_rate)

    def get_config(self):
        return base_conv.config_with(self, {
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
