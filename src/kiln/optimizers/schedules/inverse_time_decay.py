"""`InverseTimeDecay`: `initial_learning_rate / (1 + decay_rate * step / decay_steps)`."""

import torch

from kiln.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule, as_float_tensor, as_step, check_decay_steps)


class InverseTimeDecay(LearningRateSchedule):
    """Decays the learning rate in proportion to the inverse of the step.

    Args:
        initial_learning_rate: The learning rate at step 0.
        decay_steps: Positive number of steps per unit of decay.
        decay_rate: How fast the rate decays.
        staircase: If True, use `floor(step / decay_steps)` (decay in discrete jumps).
        name: Name of the schedule.

    Example:
        >>> schedule = kiln.optimizers.schedules.InverseTimeDecay(0.1, 10, 1.0)
        >>> round(float(schedule(10)), 6)
        0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        check_decay_steps(decay_steps)

    def __call__(self, step):
        initial = as_float_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        p = as_step(step, dtype) / torch.tensor(self.decay_steps, dtype=dtype)
        if self.staircase:
            p = torch.floor(p)
        denominator = 1 + torch.tensor(self.decay_rate, dtype=dtype) * p
        return initial / denominator

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }
