"""`Rescaling`: `inputs * scale + offset`, e.g. to map `[0, 255]` pixels to `[0, 1]`."""

import numpy as np
import torch

from kiln.core import dtypes
from kiln.layers.layer import Layer


def _as_tensor(value, dtype, device):
    if isinstance(value, torch.Tensor):
        return value.to(dtype=dtype, device=device)
    if isinstance(value, (int, float)):
        return torch.tensor(value, dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(value), device=device).to(dtype)


class Rescaling(Layer):
    """Multiplies inputs by `scale` and adds `offset` (scalars or arrays broadcast to the
    input), in the layer's compute dtype. Integer inputs (e.g. uint8 images) are cast.

    Example:
        >>> layer = kiln.layers.Rescaling(scale=1.0 / 255)
        >>> layer(np.array([[0, 255]], dtype="uint8"))
        tensor([[0., 1.]])
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dtype = dtypes.to_torch(self.compute_dtype)
        scale = _as_tensor(self.scale, dtype, inputs.device)
        offset = _as_tensor(self.offset, dtype, inputs.device)
        return inputs.to(dtype) * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        from kiln.core.keras_tensor import KerasTensor

        return KerasTensor(tuple(inputs.shape), self.compute_dtype)

    def get_config(self):
        from kiln.saving import serialize_keras_object

        config = super().get_config()
        config.update({"scale": serialize_keras_object(self.scale),
                       "offset": serialize_keras_object(self.offset)})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from kiln.saving import deserialize_keras_object

        config = dict(config)
        config["scale"] = deserialize_keras_object(config["scale"], custom_objects=custom_objects)
        config["offset"] = deserialize_keras_object(config["offset"],
                                                    custom_objects=custom_objects)
        return super().from_config(config)
