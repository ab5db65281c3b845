"""`CosineDecay`: a half-cosine from the (warmed-up) learning rate down to `alpha` of it."""

import math

import torch

from kiln.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule, as_float_tensor, as_step, check_decay_steps)


class CosineDecay(LearningRateSchedule):
    """Cosine decay, with an optional linear warmup first (SGDR without restarts).

    Without warmup (`warmup_target=None`) the rate goes from `initial_learning_rate`
    to `alpha * initial_learning_rate` over `decay_steps` steps. With a warmup it
    first rises linearly from `initial_learning_rate` to `warmup_target` over
    `warmup_steps` steps, then decays from `warmup_target` over `decay_steps` steps.

    Args:
        initial_learning_rate: The learning rate at step 0.
        decay_steps: Positive number of steps to decay over.
        alpha: The final rate as a fraction of the rate decayed from.
        name: Name of the schedule.
        warmup_target: The rate reached at the end of the warmup, or None for no warmup.
        warmup_steps: Number of warmup steps.

    Example:
        >>> schedule = kiln.optimizers.schedules.CosineDecay(0.0, 1000, warmup_target=0.1,
        ...                                                  warmup_steps=100)
        >>> round(float(schedule(50)), 6)
        0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        check_decay_steps(decay_steps)

    def _decayed(self, step, decay_steps, decay_from, dtype):
        fraction = step / decay_steps
        cosine = 0.5 * (1.0 + torch.cos(torch.tensor(math.pi, dtype=dtype) * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        initial = as_float_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        decay_steps = torch.tensor(self.decay_steps, dtype=dtype)
        step = as_step(step, dtype)
        if self.warmup_target is None:
            return self._decayed(torch.minimum(step, decay_steps), decay_steps, initial, dtype)
        target = torch.tensor(self.warmup_target, dtype=dtype)
        warmup_steps = torch.tensor(self.warmup_steps, dtype=dtype)
        step = torch.minimum(step, decay_steps + warmup_steps)
        if bool(step < warmup_steps):
            return (target - initial) * (step / warmup_steps) + initial
        return self._decayed(step - warmup_steps, decay_steps, target, dtype)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }
