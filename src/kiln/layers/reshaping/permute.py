"""`Permute`: reorders the non-batch axes."""

from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class Permute(Layer):
    """Permutes the axes of each example; `dims` is 1-indexed (the batch axis stays first).

    Example:
        >>> layer = kiln.layers.Permute((2, 1))
        >>> layer(np.ones((2, 3, 5), "float32")).shape
        torch.Size([2, 5, 3])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "`dims` must be a permutation of 1..n (the batch axis 0 is not included). "
                f"Received: dims={dims}")
        self.dims = dims
        self._perm = (0,) + dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return inputs.permute(self._perm)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[d] for d in self._perm)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config
