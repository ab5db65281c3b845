"""A slow, obviously-correct numpy pooling used as the test reference (test-only).

Keras defines "same" average pooling as TensorFlow does: padded cells are not counted.
Keras 3.15's torch backend pads asymmetric windows by replicating edge values instead,
which counts them; kiln follows the definition, so tests compare those cases with this.
"""

import itertools

import numpy as np

from kiln.layers.convolutional import conv_utils


def pool(x, pool_size, strides, padding, mode, data_format="channels_last"):
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    rank = len(pool_size)
    spatial = x.shape[1:-1]
    pads = [conv_utils.same_padding(n, k, s) if padding == "same" else (0, 0)
            for n, k, s in zip(spatial, pool_size, strides)]
    sizes = [conv_utils.windowed_output_size(n, k, s, padding)
             for n, k, s in zip(spatial, pool_size, strides)]
    out = np.zeros((x.shape[0], *sizes, x.shape[-1]), x.dtype)
    for index in itertools.product(*(range(n) for n in sizes)):
        window = []
        for axis in range(rank):
            start = index[axis] * strides[axis] - pads[axis][0]
            lo, hi = max(start, 0), min(start + pool_size[axis], spatial[axis])
            window.append(slice(lo, hi))
        cells = x[(slice(None), *window, slice(None))]
        axes = tuple(range(1, rank + 1))
        value = cells.max(axis=axes) if mode == "max" else cells.mean(axis=axes)
        out[(slice(None), *index, slice(None))] = value
    if data_format == "channels_first":
        out = np.moveaxis(out, -1, 1)
    return out
