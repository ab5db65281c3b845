"""`Add`: adds a list of inputs elementwise."""

from kiln.layers.merging.base_merge import Merge


class Add(Merge):
    """Adds a list of inputs elementwise. Shapes broadcast as in Keras (see `Merge`).

    Example:
        >>> kiln.layers.Add()([np.ones((2, 3)), np.ones((2, 3))])
        tensor([[2., 2., 2.],
                [2., 2., 2.]])
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


def add(inputs, **kwargs):
    """Functional form of `Add`: `Add(**kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.add([x1, x2])
    """
    return Add(**kwargs)(inputs)
