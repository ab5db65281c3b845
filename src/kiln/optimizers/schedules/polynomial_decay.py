"""`PolynomialDecay`: a polynomial ramp from `initial_learning_rate` to `end_learning_rate`."""

import torch

from kiln.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule, as_float_tensor, as_step, check_decay_steps)


class PolynomialDecay(LearningRateSchedule):
    """Decays the learning rate polynomially over `decay_steps` steps.

    `(initial - end) * (1 - step / decay_steps) ** power + end`, holding `end` after
    `decay_steps` steps, or, with `cycle=True`, stretching `decay_steps` to the next
    multiple above the current step so that the decay restarts.

    Args:
        initial_learning_rate: The learning rate at step 0.
        decay_steps: Positive number of steps to reach `end_learning_rate`.
        end_learning_rate: The final learning rate.
        power: The polynomial's power; 1.0 gives a linear ramp.
        cycle: Whether to restart the decay after `decay_steps`.
        name: Name of the schedule.

    Example:
        >>> schedule = kiln.optimizers.schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0)
        >>> round(float(schedule(5)), 6)
        0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        check_decay_steps(decay_steps)

    def __call__(self, step):
        initial = as_float_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        end = torch.tensor(self.end_learning_rate, dtype=dtype)
        power = torch.tensor(self.power, dtype=dtype)
        step = as_step(step, dtype)
        decay_steps = torch.tensor(self.decay_steps, dtype=dtype)
        if self.cycle:
            # Stretch to the first multiple of decay_steps at or above the step (1 at step 0).
            multiplier = torch.where(step == 0, torch.ones((), dtype=dtype),
                                     torch.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = torch.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * torch.pow(1 - p, power) + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }
