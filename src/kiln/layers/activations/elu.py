"""`ELU`: exponential linear unit."""

import torch

from kiln.layers.layer import Layer


class ELU(Layer):
    """`x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Example:
        >>> kiln.layers.ELU(alpha=1.0)(np.array([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs):
        return torch.nn.functional.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        # Keras 3 writes ELU's config from its constructor arguments: "alpha" follows
        # "name" and precedes "trainable" / "dtype".
        base = super().get_config()
        return {"name": base.pop("name"), "alpha": self.alpha, **base}
