"""Hinge metrics: running means of the hinge loss functions."""

from kiln.losses.hinge import categorical_hinge, hinge, squared_hinge
from kiln.metrics.reduction_metrics import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """Running mean of the hinge loss.

    Example:
        >>> kiln.metrics.Hinge()([[1.0, 0.0]], [[0.5, -2.0]])
        tensor(0.2500)
    """

    def __init__(self, name="hinge", dtype=None):
        super().__init__(fn=hinge, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SquaredHinge(MeanMetricWrapper):
    """Running mean of the squared hinge loss.

    Example:
        >>> kiln.metrics.SquaredHinge()([[1.0, 0.0]], [[0.5, -2.0]])
        tensor(0.1250)
    """

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(fn=squared_hinge, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the categorical hinge loss.

    Example:
        >>> kiln.metrics.CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.6]])
        tensor(0.7000)
    """

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(fn=categorical_hinge, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
