"""`Dense`: `activation(inputs @ kernel + bias)`."""

import torch

from kiln import activations, constraints, initializers, regularizers
from kiln.activations.activations import activate_new_tensor
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class Dense(Layer):
    """A densely connected layer.

    The kernel has shape `(input_dim, units)` (Keras's layout, which is also the layout
    in weight files).

    Example:
        >>> layer = kiln.layers.Dense(4, activation="relu")
        >>> layer(np.ones((2, 3))).shape
        torch.Size([2, 4])
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Dense expects `units` to be a positive integer. Received: units={units!r}"
            )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' needs a known last input dimension to build; "
                f"received input_shape={tuple(input_shape)}."
            )
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, self.units), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        kernel = self.kernel.value
        if self.bias is not None:
            # addmm's meta kernel imports torch._dynamo (~2 s once per process), so
            # symbolic (meta-device) shape inference takes the matmul path.
            if inputs.dim() == 2 and not inputs.is_meta:
                x = torch.addmm(self.bias.value, inputs, kernel)
            else:
                x = torch.matmul(inputs, kernel) + self.bias.value
        else:
            x = torch.matmul(inputs, kernel)
        return activate_new_tensor(self.activation, x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config
