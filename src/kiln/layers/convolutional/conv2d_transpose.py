"""`Conv2DTranspose`: the gradient of a 2D convolution, used to upsample feature maps."""

import torch.nn.functional as F

from kiln import activations, constraints, initializers, regularizers
from kiln.layers.convolutional import base_conv, conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


def transpose_crops(kernel, stride, dilation, padding, output_padding):
    """`(crop_before, crop_after)` to take from torch's uncropped transposed-conv output
    (length `(n - 1) * stride + k_eff`) to get Keras's output; negative means zero-pad."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return 0, -extra
    if output_padding is None:
        total = stride + effective - 2
    else:
        total = effective + effective % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, effective - 1)
    after = total - before
    return effective - 1 - before, effective - 1 - after


def transpose_output_size(size, kernel, stride, padding, output_padding, dilation):
    if size is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return (size - 1) * stride + effective + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + effective % 2 + output_padding


class Conv2DTranspose(Layer):
    """Transposed 2D convolution ("deconvolution").

    The kernel has shape `(kh, kw, filters, in_channels)` (Keras's layout). With
    `padding="same"` and no `output_padding` the output is `strides` times the input.

    Example:
        >>> layer = kiln.layers.Conv2DTranspose(4, 3, strides=2, padding="same")
        >>> layer(np.ones((1, 5, 5, 8), "float32")).shape
        torch.Size([1, 10, 10, 4])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        base_conv.check_positive("filters", filters)
        self.rank = 2
        self.filters = filters
        self.kernel_size = conv_utils.standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = conv_utils.standardize_tuple(strides, 2, "strides")
        self.dilation_rate = conv_utils.standardize_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = conv_utils.standardize_padding(padding)
        self.output_padding = None if output_padding is None else conv_utils.standardize_tuple(
            output_padding, 2, "output_padding", allow_zero=True)
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=4)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(
                "Every value of `output_padding` must be smaller than the matching stride. "
                f"Received: output_padding={self.output_padding}, strides={self.strides}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` cannot be combined with `dilation_rate > 1`. Received: "
                f"strides={self.strides}, dilation_rate={self.dilation_rate}.")
        self._crops = [transpose_crops(self.kernel_size[i], self.strides[i],
                                       self.dilation_rate[i], self.padding,
                                       None if self.output_padding is None
                                       else self.output_padding[i]) for i in range(2)]
        self._torch_args = self._torch_padding()

    def _torch_padding(self):
        """`(padding, output_padding)` for torch when its symmetric crop plus right-side
        extension can express Keras's crops exactly, else None (crop/pad by hand)."""
        padding, extra = [], []
        for (before, after), s, d in zip(self._crops, self.strides, self.dilation_rate):
            if before < 0 or not 0 <= before - after < max(s, d):
                return None
            padding.append(before)
            extra.append(before - after)
        return tuple(padding), tuple(extra)

    def build(self, input_shape):
        channels = base_conv.input_channels(self, input_shape)
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (self.filters, channels),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = base_conv.channel_spec(self, channels)

    def call(self, inputs):
        x = base_conv.to_torch_layout(inputs, 2, self.data_format)
        # Keras (kh, kw, out, in) -> torch's transposed-conv layout (in, out, kh, kw).
        weight = self.kernel.value.permute(3, 2, 0, 1)
        if weight.dtype != x.dtype:
            weight = weight.to(x.dtype)
        bias = base_conv.cast_bias(self.bias, x.dtype)
        if self._torch_args is not None:
            padding, extra = self._torch_args
            x = F.conv_transpose2d(x, weight, bias, self.strides, padding, extra, 1,
                                   self.dilation_rate)
        else:
            x = F.conv_transpose2d(x, weight, None, self.strides, 0, 0, 1, self.dilation_rate)
            x = self._crop(x)
            if bias is not None:
                x = x + bias.reshape(-1, 1, 1)
        return base_conv.apply_activation(self, base_conv.from_torch_layout(x, 2,
                                                                            self.data_format))

    def _crop(self, x):
        slices = [slice(None), slice(None)]
        pads = []
        for before, after in self._crops:
            slices.append(slice(max(before, 0), -after if after > 0 else None))
            pads.append((max(-before, 0), max(-after, 0)))
        x = x[tuple(slices)]
        if any(a or b for a, b in pads):
            x = F.pad(x, conv_utils.flat_pad(pads))
        return x

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(f"Layer '{self.name}' expects inputs of rank 4, but received "
                             f"input_shape={input_shape}.")
        axes = conv_utils.spatial_axes(2, self.data_format)
        spatial = [transpose_output_size(
            input_shape[axis], self.kernel_size[i], self.strides[i], self.padding,
            None if self.output_padding is None else self.output_padding[i],
            self.dilation_rate[i]) for i, axis in enumerate(axes)]
        if self.data_format == "channels_last":
            return (input_shape[0], *spatial, self.filters)
        return (input_shape[0], self.filters, *spatial)

    def get_config(self):
        return base_conv.config_with(self, {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
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
