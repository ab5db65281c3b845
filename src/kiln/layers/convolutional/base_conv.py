"""`BaseConv`: the N-D convolution behind `Conv1D` and `Conv2D`, and the torch plumbing
shared by every convolution layer.

Kernels are stored in Keras's layout `(*kernel_size, in_channels // groups, filters)`,
which is also the layout of weight files. Each call views it as torch's
`(filters, in_channels // groups, *kernel_size)` with a `permute` (no copy is kept, so
the view is always current, also while training).
"""

import torch.nn.functional as F

from kiln import activations, constraints, initializers, regularizers
from kiln.activations.activations import activate_new_tensor
from kiln.layers.convolutional import conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

CONV_FNS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def torch_kernel(kernel, rank, dtype):
    """Keras's `(*k, in, out)` kernel as torch's `(out, in, *k)`, in the compute dtype."""
    w = kernel.permute(rank + 1, rank, *range(rank))
    return w if w.dtype == dtype else w.to(dtype)


def to_torch_layout(inputs, rank, data_format):
    if data_format == "channels_last":
        return inputs.permute(conv_utils.to_channels_first(rank))
    return inputs


def from_torch_layout(outputs, rank, data_format):
    if data_format == "channels_last":
        return outputs.permute(conv_utils.to_channels_last(rank))
    return outputs


def pad_for_conv(x, kernel_size, strides, padding, dilation_rate):
    """Pads channels-first `x` as Keras's `padding` requires.

    Returns `(x, torch_padding)`: symmetric "same" padding is left to torch's own
    `padding` argument (no copy); asymmetric or causal padding is applied with `F.pad`.
    """
    rank = len(kernel_size)
    if padding == "valid":
        return x, 0
    if padding == "causal":
        left = (kernel_size[0] - 1) * dilation_rate[0]
        return F.pad(x, (left, 0)), 0
    pads = [conv_utils.same_padding(x.shape[2 + i], kernel_size[i], strides[i],
                                    dilation_rate[i]) for i in range(rank)]
    if all(a == b for a, b in pads):
        return x, tuple(a for a, _ in pads)
    return F.pad(x, conv_utils.flat_pad(pads)), 0


def convolve(x, weight, bias, kernel_size, strides, padding, dilation_rate, groups):
    """Convolution of channels-first `x` with a torch-layout `weight`, Keras padding rules."""
    x, torch_padding = pad_for_conv(x, kernel_size, strides, padding, dilation_rate)
    return CONV_FNS[len(kernel_size)](x, weight, bias, strides, torch_padding, dilation_rate,
                                      groups)


def cast_bias(bias, dtype):
    if bias is None:
        return None
    b = bias.value
    return b if b.dtype == dtype else b.to(dtype)


def apply_activation(layer, outputs):
    return activate_new_tensor(layer.activation, outputs)  # the convolution's own output


def input_channels(layer, input_shape):
    """The channel dimension of `input_shape`, which must be known to build."""
    rank = len(layer.kernel_size)
    if len(input_shape) != rank + 2:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects inputs of rank {rank + 2}, "
            f"but received input_shape={tuple(input_shape)}.")
    channels = input_shape[conv_utils.channel_axis(layer.data_format)]
    if channels is None:
        raise ValueError(
            f"Layer '{layer.name}' needs a known channel dimension to build; received "
            f"input_shape={tuple(input_shape)} with data_format={layer.data_format!r}.")
    return channels


def channel_spec(layer, channels):
    rank = len(layer.kernel_size)
    return InputSpec(ndim=rank + 2, axes={conv_utils.channel_axis(layer.data_format): channels})


def config_with(layer, items):
    """`Layer.get_config()` updated with `items`. As in Keras, "activity_regularizer" sits
    among the regularizers when it is None, and right after "dtype" when it is set."""
    config = Layer.get_config(layer)
    config.update(items)
    return config


def check_positive(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_no_lora(layer, lora_rank):
    if lora_rank is not None:
        raise NotImplementedError(
            f"{type(layer).__name__}(lora_rank={lora_rank!r}): LoRA on convolution layers is "
            "not supported by kiln. Create the layer without `lora_rank`.")


class BaseConv(Layer):
    """Abstract N-D convolution (`Conv1D`, `Conv2D` subclass it with `rank` fixed).

    Example:
        >>> layer = kiln.layers.Conv2D(8, 3, padding="same")
        >>> layer(np.ones((2, 16, 16, 3), "float32")).shape
        torch.Size([2, 16, 16, 8])
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        check_no_lora(self, lora_rank)
        self.rank = rank
        check_positive("filters", filters)
        check_positive("groups", groups)
        self.filters = filters
        self.groups = groups
        self.kernel_size = conv_utils.standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.standardize_tuple(strides, rank, "strides")
        self.dilation_rate = conv_utils.standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = conv_utils.standardize_padding(padding, allow_causal=rank == 1)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)
        if filters is not None and filters % groups:
            raise ValueError(
                f"`filters` must be divisible by `groups`. Received: filters={filters}, "
                f"groups={groups}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` cannot be combined with `dilation_rate > 1`. Received: "
                f"strides={self.strides}, dilation_rate={self.dilation_rate}.")

    def build(self, input_shape):
        channels = input_channels(self, input_shape)
        if channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}': the number of input channels ({channels}) must be "
                f"divisible by groups={self.groups}. Full input shape: {tuple(input_shape)}.")
        self.compute_output_shape(input_shape)  # validates the spatial sizes
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = channel_spec(self, channels)

    def call(self, inputs):
        x = to_torch_layout(inputs, self.rank, self.data_format)
        weight = torch_kernel(self.kernel.value, self.rank, x.dtype)
        x = convolve(x, weight, cast_bias(self.bias, x.dtype), self.kernel_size, self.strides,
                     self.padding, self.dilation_rate, self.groups)
        return apply_activation(self, from_torch_layout(x, self.rank, self.data_format))

    def compute_output_shape(self, input_shape):
        return conv_utils.windowed_output_shape(
            self.name, input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.data_format, self.dilation_rate)

    def get_config(self):
        return config_with(self, {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })


