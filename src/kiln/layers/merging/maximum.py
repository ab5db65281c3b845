"""`Maximum`: elementwise maximum of a list of inputs."""

import torch

from kiln.layers.merging.base_merge import Merge


class Maximum(Merge):
    """Elementwise maximum of a list of inputs. Shapes broadcast as in Keras (see `Merge`).

    Example:
        >>> kiln.layers.Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
        tensor([[3., 5.]])
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = torch.maximum(out, x)
        return out


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`: `Maximum(**kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.maximum([x1, x2])
    """
    return Maximum(**kwargs)(inputs)
