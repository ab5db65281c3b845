"""`MaxPooling2D`: max pooling over images."""

from kiln.layers.pooling.base_pooling import BasePooling


class MaxPooling2D(BasePooling):
    """Downsamples `(batch, height, width, channels)` inputs by the maximum over each window.

    `strides` defaults to `pool_size`. With `padding="same"` the output has
    `ceil(size / strides)` cells per axis.

    Example:
        >>> layer = kiln.layers.MaxPooling2D(pool_size=2)
        >>> layer(np.ones((2, 9, 9, 3), "float32")).shape
        torch.Size([2, 4, 4, 3])
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, rank=2, mode="max", padding=padding,
                         data_format=data_format, **kwargs)
