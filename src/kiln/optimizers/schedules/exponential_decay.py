"""`ExponentialDecay`: `initial_learning_rate * decay_rate ** (step / decay_steps)`."""

import torch

from kiln.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule, as_float_tensor, as_step, check_decay_steps)


class ExponentialDecay(LearningRateSchedule):
    """Decays the learning rate by `decay_rate` every `decay_steps` steps, smoothly.

    Args:
        initial_learning_rate: The learning rate at step 0.
        decay_steps: Positive number of steps over which the rate is multiplied by
            `decay_rate` once.
        decay_rate: The multiplier per `decay_steps` steps.
        staircase: If True, decay in whole steps (`floor(step / decay_steps)`).
        name: Name of the schedule.

    Example:
        >>> schedule = kiln.optimizers.schedules.ExponentialDecay(0.1, 100, 0.5)
        >>> float(schedule(100))
        0.05000000074505806
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
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
        return initial * torch.pow(torch.tensor(self.decay_rate, dtype=dtype), p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }
