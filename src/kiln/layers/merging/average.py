"""`Average`: averages a list of inputs elementwise."""

from kiln.layers.merging.base_merge import Merge


class Average(Merge):
    """Averages a list of inputs elementwise. Shapes broadcast as in Keras (see `Merge`).

    Example:
        >>> kiln.layers.Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)])
        tensor([[2., 2.]])
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`: `Average(**kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.average([x1, x2])
    """
    return Average(**kwargs)(inputs)
