"""`GlobalMaxPooling2D`: the maximum over height and width."""

from kiln.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Takes the maximum of `(batch, height, width, channels)` inputs (or channels-first)
    over space.

    Example:
        >>> layer = kiln.layers.GlobalMaxPooling2D()
        >>> layer(np.ones((2, 5, 5, 3), "float32")).shape
        torch.Size([2, 3])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return inputs.amax(dim=self._axes, keepdim=self.keepdims)
