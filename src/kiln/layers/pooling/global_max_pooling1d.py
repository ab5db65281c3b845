"""`GlobalMaxPooling1D`: the maximum over time steps."""

from kiln.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Takes the maximum of `(batch, steps, channels)` inputs over `steps`.

    Example:
        >>> layer = kiln.layers.GlobalMaxPooling1D()
        >>> layer(np.ones((2, 7, 3), "float32")).shape
        torch.Size([2, 3])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return inputs.amax(dim=self._axes, keepdim=self.keepdims)
