"""`Identity`: returns its input unchanged (a placeholder in architectures)."""

from kiln.layers.layer import Layer


class Identity(Layer):
    """Returns its input unchanged; useful as a no-op stand-in for another layer.

    Example:
        >>> kiln.layers.Identity()(np.ones((2, 3))).shape
        torch.Size([2, 3])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        from kiln.core.keras_tensor import KerasTensor

        def spec(x):
            if isinstance(x, (list, tuple)):
                return type(x)(spec(v) for v in x)
            if isinstance(x, dict):
                return {k: spec(v) for k, v in x.items()}
            return KerasTensor(tuple(x.shape), x.dtype)

        return spec(inputs)
