"""`ReLU`: rectified linear unit with optional cap, leak and threshold."""

import torch

from kiln import activations
from kiln.layers.layer import Layer


class ReLU(Layer):
    """`max_value` above the cap, `x` between `threshold` and the cap, and
    `negative_slope * (x - threshold)` below `threshold`.

    Args:
        max_value: Optional non-negative cap.
        negative_slope: Non-negative slope below the threshold (default 0).
        threshold: Non-negative threshold (default 0).

    Example:
        >>> kiln.layers.ReLU(max_value=6.0)(np.array([-1.0, 3.0, 9.0]))
        tensor([0., 3., 6.])
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(
                "ReLU expects `max_value` to be None or non-negative. "
                f"Received: max_value={max_value}"
            )
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError(
                "ReLU expects `negative_slope` to be a non-negative number. "
                f"Received: negative_slope={negative_slope}"
            )
        if threshold is None or threshold < 0.0:
            raise ValueError(
                "ReLU expects `threshold` to be a non-negative number. "
                f"Received: threshold={threshold}"
            )
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs):
        if self.max_value is None and self.negative_slope == 0 and self.threshold == 0:
            return torch.relu(inputs)
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config
