"""`Subtract`: `inputs[0] - inputs[1]`."""

from kiln.layers.merging.base_merge import Merge


class Subtract(Merge):
    """Subtracts the second of exactly two inputs from the first.

    Example:
        >>> kiln.layers.Subtract()([np.full((1, 2), 5.0), np.ones((1, 2))])
        tensor([[4., 4.]])
    """

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                "A `Subtract` layer should be called on exactly 2 inputs. "
                f"Received: input_shape={list(input_shape)}"
            )

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(
                f"A `Subtract` layer should be called on exactly 2 inputs. Received {len(inputs)} "
                "inputs."
            )
        return inputs[0] - inputs[1]


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`: `Subtract(**kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.subtract([x1, x2])
    """
    return Subtract(**kwargs)(inputs)
