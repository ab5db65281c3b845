"""`PiecewiseConstantDecay`: a step function of the iteration count."""

import numbers

import torch

from kiln.core.variable import Variable
from kiln.optimizers.schedules.learning_rate_schedule import LearningRateSchedule


class PiecewiseConstantDecay(LearningRateSchedule):
    """Uses `values[i]` while `boundaries[i-1] < step <= boundaries[i]`.

    That is `values[0]` up to and including `boundaries[0]`, and `values[-1]` after
    `boundaries[-1]`.

    Args:
        boundaries: Increasing step numbers where the value changes.
        values: One more value than there are boundaries.
        name: Name of the schedule.

    Example:
        >>> schedule = kiln.optimizers.schedules.PiecewiseConstantDecay([100], [0.1, 0.01])
        >>> round(float(schedule(100)), 6), round(float(schedule(101)), 6)
        (0.1, 0.01)
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        super().__init__()
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        if isinstance(step, Variable):
            step = step.value
        step = step.detach() if isinstance(step, torch.Tensor) else torch.as_tensor(step)
        # As in Keras, boundaries take the step's dtype, and the result the first value's.
        first = self.values[0]
        if isinstance(first, torch.Tensor):
            dtype = first.dtype
        elif isinstance(first, numbers.Integral):
            dtype = torch.int32
        else:
            dtype = torch.float32
        values = [torch.as_tensor(v).to(dtype) for v in self.values]
        bounds = [torch.as_tensor(b).to(step.dtype) for b in self.boundaries]
        result = torch.zeros((), dtype=dtype)
        result = result + (step <= bounds[0]).to(dtype) * values[0]
        result = result + (step > bounds[-1]).to(dtype) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result = result + ((step > low) & (step <= high)).to(dtype) * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}
