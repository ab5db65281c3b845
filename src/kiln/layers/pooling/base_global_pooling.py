"""`BaseGlobalPooling`: reduces every spatial axis to one value per channel."""

from kiln.layers.convolutional import conv_utils
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """Abstract global pooling over the spatial axes of `rank`-D data.

    With `keepdims=True` the spatial axes stay, with length 1.

    Example:
        >>> layer = kiln.layers.GlobalAveragePooling2D(keepdims=True)
        >>> layer(np.ones((2, 5, 5, 3), "float32")).shape
        torch.Size([2, 1, 1, 3])
    """

    def __init__(self, rank, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.data_format = conv_utils.standardize_data_format(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=rank + 2)
        self._axes = conv_utils.spatial_axes(rank, self.data_format)
        # No variables: built from the start, so no build config is saved (as in Keras).
        self.built = True

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Layer '{self.name}' expects inputs of rank {self.rank + 2}, but "
                             f"received input_shape={input_shape}.")
        channels = input_shape[conv_utils.channel_axis(self.data_format)]
        if not self.keepdims:
            return (input_shape[0], channels)
        if self.data_format == "channels_last":
            return (input_shape[0],) + (1,) * self.rank + (channels,)
        return (input_shape[0], channels) + (1,) * self.rank

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
