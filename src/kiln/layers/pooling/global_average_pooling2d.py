"""`GlobalAveragePooling2D`: the mean over height and width."""

from kiln.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Averages `(batch, height, width, channels)` inputs (or channels-first) over space.

    Example:
        >>> layer = kiln.layers.GlobalAveragePooling2D()
        >>> layer(np.ones((2, 5, 5, 3), "float32")).shape
        torch.Size([2, 3])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return inputs.mean(dim=self._axes, keepdim=self.keepdims)
