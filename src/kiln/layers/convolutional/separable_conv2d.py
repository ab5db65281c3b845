"""`SeparableConv2D`: a depthwise convolution followed by a 1x1 (pointwise) convolution."""

import torch.nn.functional as F

from kiln import activations, constraints, initializers, regularizers
from kiln.layers.convolutional import base_conv, conv_utils
from kiln.layers.convolutional.depthwise_conv2d import depthwise_torch_kernel
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class SeparableConv2D(Layer):
    """Depthwise-separable 2D convolution.

    Weights, in Keras's order: `depthwise_kernel` `(kh, kw, in, depth_multiplier)`,
    `pointwise_kernel` `(1, 1, in * depth_multiplier, filters)` and `bias` `(filters,)`.
    `strides`, `padding` and `dilation_rate` apply to the depthwise step.

    Example:
        >>> layer = kiln.layers.SeparableConv2D(16, 3, padding="same")
        >>> layer(np.ones((1, 8, 8, 4), "float32")).shape
        torch.Size([1, 8, 8, 16])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        base_conv.check_positive("filters", filters)
        base_conv.check_positive("depth_multiplier", depth_multiplier)
        self.rank = 2
        self.filters = filters
        self.depth_multiplier = depth_multiplier
        self.kernel_size = conv_utils.standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = conv_utils.standardize_tuple(strides, 2, "strides")
        self.dilation_rate = conv_utils.standardize_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = conv_utils.standardize_padding(padding)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        channels = base_conv.input_channels(self, input_shape)
        self.compute_output_shape(input_shape)  # validates the spatial sizes
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = base_conv.channel_spec(self, channels)

    def call(self, inputs):
        x = base_conv.to_torch_layout(inputs, 2, self.data_format)
        depthwise = depthwise_torch_kernel(self.depthwise_kernel.value, x.dtype)
        x = base_conv.convolve(x, depthwise, None, self.kernel_size, self.strides, self.padding,
                               self.dilation_rate, groups=x.shape[1])
        pointwise = base_conv.torch_kernel(self.pointwise_kernel.value, 2, x.dtype)
        x = F.conv2d(x, pointwise, base_conv.cast_bias(self.bias, x.dtype))
        return base_conv.apply_activation(self, base_conv.from_torch_layout(x, 2,
                                                                            self.data_format))

    def compute_output_shape(self, input_shape):
        return conv_utils.windowed_output_shape(
            self.name, input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.data_format, self.dilation_rate)

    def get_config(self):
        return base_conv.config_with(self, {
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
