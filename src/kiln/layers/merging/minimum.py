"""`Minimum`: elementwise minimum of a list of inputs."""

import torch

from kiln.layers.merging.base_merge import Merge


class Minimum(Merge):
    """Elementwise minimum of a list of inputs. Shapes broadcast as in Keras (see `Merge`).

    Example:
        >>> kiln.layers.Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
        tensor([[1., 2.]])
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = torch.minimum(out, x)
        return out


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`: `Minimum(**kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.minimum([x1, x2])
    """
    return Minimum(**kwargs)(inputs)
