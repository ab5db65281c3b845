"""Argument checks and shape arithmetic shared by convolution, pooling and reshaping layers.

Keras's conventions, stated once:
- `data_format="channels_last"` means `(batch, *spatial, channels)`; torch's kernels want
  `(batch, channels, *spatial)`, so channels-last inputs are permuted (a view) around
  each torch call.
- `padding="same"` pads `total = max(0, (ceil(n / s) - 1) * s + k_eff - n)` cells per
  spatial axis, `total // 2` before and the rest after (TensorFlow's rule, which puts the
  odd cell at the end).
"""

_CHANNELS = ("channels_last", "channels_first")


def standardize_tuple(value, n, name, allow_zero=False):
    """`value` (an int or `n` ints) as a tuple of `n` ints, each > 0 (>= 0 with `allow_zero`).

    Example:
        >>> standardize_tuple(3, 2, "kernel_size")
        (3, 3)
    """
    if isinstance(value, bool):
        raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} ints. "
                         f"Received: {name}={value!r}")
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(_is_int(v) for v in values):
            raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} ints. "
                             f"Received: {name}={value!r}")
        values = tuple(int(v) for v in values)
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        raise ValueError(f"Every value of `{name}` must be {'>= 0' if allow_zero else '> 0'}. "
                         f"Received: {name}={value!r}")
    return values


def _is_int(v):
    return not isinstance(v, bool) and hasattr(v, "__index__")


def standardize_padding(value, allow_causal=False):
    """Lower-cased `"valid"` / `"same"` (or `"causal"` where allowed)."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be one of {allowed}. "
                         f"Received: padding={value!r}")
    return padding


def standardize_data_format(data_format):
    """`"channels_last"` / `"channels_first"`; None means `kiln.config.image_data_format()`."""
    if data_format is None:
        from kiln import config

        return config.image_data_format()
    value = str(data_format).lower()
    if value not in _CHANNELS:
        raise ValueError(f"The `data_format` argument must be one of {_CHANNELS}. "
                         f"Received: data_format={data_format!r}")
    return value


def same_padding(size, kernel, stride, dilation=1):
    """`(before, after)` cells that `padding="same"` adds to an axis of length `size`."""
    effective = (kernel - 1) * dilation + 1
    if stride == 1:  # independent of `size` (keeps traced/exported graphs shape-generic)
        total = effective - 1
    else:
        total = max(0, (-(-size // stride) - 1) * stride + effective - size)
    return total // 2, total - total // 2


def spatial_axes(rank, data_format):
    """Positions of the spatial axes in an input of `rank + 2` dimensions."""
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(
        range(2, rank + 2))


def channel_axis(data_format):
    return -1 if data_format == "channels_last" else 1


def to_channels_first(rank):
    """The permutation taking `(batch, *spatial, channels)` to `(batch, channels, *spatial)`."""
    return (0, rank + 1) + tuple(range(1, rank + 1))


def to_channels_last(rank):
    """The permutation taking `(batch, channels, *spatial)` to `(batch, *spatial, channels)`."""
    return (0,) + tuple(range(2, rank + 2)) + (1,)


def windowed_output_size(size, kernel, stride, padding, dilation=1):
    """Output length of a sliding window (conv or pooling) on an axis of length `size`.

    None stays None (unknown). "same" and "causal" give `ceil(size / stride)`.
    """
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    return (size - effective) // stride + 1


def windowed_output_shape(layer_name, input_shape, channels, kernel_size, strides, padding,
                          data_format, dilation_rate=None):
    """Full output shape of a conv or pooling layer; `channels=None` keeps the input's."""
    rank = len(kernel_size)
    input_shape = tuple(input_shape)
    if len(input_shape) != rank + 2:
        raise ValueError(f"Layer '{layer_name}' expects inputs of rank {rank + 2}, but received "
                         f"input_shape={input_shape}.")
    dilation_rate = dilation_rate or (1,) * rank
    axes = spatial_axes(rank, data_format)
    spatial = []
    for i, axis in enumerate(axes):
        n = windowed_output_size(input_shape[axis], kernel_size[i], strides[i], padding,
                                 dilation_rate[i])
        if n is not None and n <= 0:
            raise ValueError(
                f"Layer '{layer_name}' would produce an output of size {n} along spatial axis "
                f"{axis}: input_shape={input_shape}, window={kernel_size}, strides={strides}, "
                f"dilation_rate={dilation_rate}, padding={padding!r}. Use a larger input, a "
                "smaller window or padding='same'.")
        spatial.append(n)
    channels = input_shape[channel_axis(data_format)] if channels is None else channels
    if data_format == "channels_last":
        return (input_shape[0], *spatial, channels)
    return (input_shape[0], channels, *spatial)


def flat_pad(pads):
    """`[(before, after), ...]` per spatial axis (first to last) as `F.pad`'s flat argument."""
    out = []
    for before, after in reversed(pads):
        out.extend((before, after))
    return tuple(out)
