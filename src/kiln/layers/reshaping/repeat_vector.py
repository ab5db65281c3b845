"""`RepeatVector`: repeats a vector `n` times along a new time axis."""

from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class RepeatVector(Layer):
    """Turns `(batch, features)` into `(batch, n, features)`.

    Example:
        >>> layer = kiln.layers.RepeatVector(3)
        >>> layer(np.ones((2, 4), "float32")).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"`n` must be an int. Received: n={n!r} of type {type(n).__name__}")
        if n <= 0:
            raise ValueError(f"`n` must be a positive integer. Received: n={n}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return inputs.unsqueeze(1).expand(-1, self.n, -1).contiguous()

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
