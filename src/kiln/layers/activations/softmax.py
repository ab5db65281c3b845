"""`Softmax`: normalized exponentials along one or more axes, with an optional mask."""

import torch

from kiln import activations
from kiln.layers.layer import Layer


def _large_negative(dtype):
    """What masked positions are set to before the softmax (Keras's values)."""
    return -3e4 if dtype == torch.float16 else -1e9


def _check_mask(mask, inputs):
    if mask.dim() > inputs.dim():
        raise ValueError(
            "The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
            f"Received: inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}"
        )
    for m, i in zip(reversed(mask.shape), reversed(inputs.shape)):
        if m != 1 and m != i:
            raise ValueError(
                "The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 "
                f"or match the corresponding input dimension. Received: "
                f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}"
            )


class Softmax(Layer):
    """Softmax along `axis` (an int or a tuple of axes).

    Called with `mask`, positions where the mask is False (or <= 0.5) get probability 0;
    a row that is entirely masked is all zeros.

    Example:
        >>> kiln.layers.Softmax()(np.array([[1.0, 1.0, 1.0, 1.0]]))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
        >>> kiln.layers.Softmax()(np.array([[1.0, 1.0]]), mask=np.array([[True, False]]))
        tensor([[1., 0.]])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = torch.as_tensor(mask, device=inputs.device)
            _check_mask(mask, inputs)
            if mask.dtype != torch.bool:
                mask = mask > 0.5
            inputs = torch.where(mask, inputs,
                                 torch.tensor(_large_negative(inputs.dtype), dtype=inputs.dtype,
                                              device=inputs.device))
        axis = self.axis
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, (list, tuple)):
            outputs = torch.exp(inputs - torch.logsumexp(inputs, dim=tuple(axis), keepdim=True))
        else:
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = torch.where(mask, outputs, torch.zeros((), dtype=outputs.dtype,
                                                             device=outputs.device))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
