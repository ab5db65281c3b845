"""`AveragePooling2D`: average pooling over images."""

from kiln.layers.pooling.base_pooling import BasePooling


class AveragePooling2D(BasePooling):
    """Downsamples `(batch, height, width, channels)` inputs by the mean over each window.

    `strides` defaults to `pool_size`. With `padding="same"` the output has
    `ceil(size / strides)` cells per axis; windows that overlap the padding average only
    their real cells (padded cells are not counted).

    Example:
        >>> layer = kiln.layers.AveragePooling2D(pool_size=2, padding="same")
        >>> layer(np.ones((2, 9, 9, 3), "float32")).shape
        torch.Size([2, 5, 5, 3])
    """

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, rank=2, mode="average", padding=padding,
                         data_format=data_format, **kwargs)
