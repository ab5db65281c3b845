"""`PReLU`: leaky ReLU whose negative slope `alpha` is learned."""

import torch

from kiln import constraints, initializers, regularizers
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class PReLU(Layer):
    """`x` for `x >= 0`, `alpha * x` otherwise, with a trainable `alpha` per input unit.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: For the `alpha` weight.
        shared_axes: Axes (1-based, excluding batch) along which `alpha` is shared, e.g.
            `[1, 2]` for one slope per channel of `(batch, h, w, channels)` images.

    Example:
        >>> layer = kiln.layers.PReLU(shared_axes=[1])
        >>> layer(np.ones((2, 5, 3))).shape
        torch.Size([2, 5, 3])
        >>> layer.weights[0].shape
        (1, 3)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif not isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [shared_axes]
        else:
            self.shared_axes = list(shared_axes)

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for i in self.shared_axes or ():
            param_shape[i - 1] = 1
        self.alpha = self.add_weight(
            shape=param_shape, name="alpha", initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {}
        if self.shared_axes:
            axes = {i: input_shape[i] for i in range(1, len(input_shape))
                    if i not in self.shared_axes}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        return torch.relu(inputs) - self.alpha.value * torch.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
