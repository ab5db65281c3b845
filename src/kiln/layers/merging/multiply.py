"""`Multiply`: multiplies a list of inputs elementwise."""

from kiln.layers.merging.base_merge import Merge


class Multiply(Merge):
    """Multiplies a list of inputs elementwise. Shapes broadcast as in Keras (see `Merge`).

    Example:
        >>> kiln.layers.Multiply()([np.full((1, 2), 2.0), np.full((1, 2), 3.0)])
        tensor([[6., 6.]])
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`: `Multiply(**kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.multiply([x1, x2])
    """
    return Multiply(**kwargs)(inputs)
