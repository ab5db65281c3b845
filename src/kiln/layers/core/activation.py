"""`Activation`: applies an activation function to its input."""

from kiln import activations
from kiln.layers.layer import Layer


class Activation(Layer):
    """Applies `activation` elementwise (or along the last axis, for softmax-like ones).

    Args:
        activation: An activation name (`"relu"`, `"softmax"`, ...) or a callable.

    Example:
        >>> layer = kiln.layers.Activation("relu")
        >>> layer(np.array([-3.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)
        # Nothing to create: built at construction, as Keras does (no build_config).
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {"activation": activations.serialize(self.activation)}
        return {**super().get_config(), **config}
