"""`CosineDecayRestarts`: cosine decay that restarts, each period `t_mul` times longer (SGDR)."""

import math

import torch

from kiln.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule, as_float_tensor, as_step, check_decay_steps)


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (Loshchilov & Hutter, SGDR).

    The first period lasts `first_decay_steps`; each following period is `t_mul`
    times longer and starts from `m_mul` times the previous starting rate.

    Args:
        initial_learning_rate: The learning rate at step 0.
        first_decay_steps: Positive length of the first period.
        t_mul: Factor by which each period is longer than the previous.
        m_mul: Factor applied to the starting rate at each restart.
        alpha: The minimum rate as a fraction of `initial_learning_rate`.
        name: Name of the schedule.

    Example:
        >>> schedule = kiln.optimizers.schedules.CosineDecayRestarts(0.1, 10)
        >>> round(float(schedule(10)), 6)   # the first restart
        0.1
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        check_decay_steps(first_decay_steps, "first_decay_steps")

    def __call__(self, step):
        initial = as_float_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        alpha = torch.tensor(self.alpha, dtype=dtype)
        t_mul = torch.tensor(self._t_mul, dtype=dtype)
        m_mul = torch.tensor(self._m_mul, dtype=dtype)
        fraction = as_step(step, dtype) / torch.tensor(self.first_decay_steps, dtype=dtype)
        if bool(t_mul == 1.0):
            restarts = torch.floor(fraction)
            fraction = fraction - restarts
        else:
            # Period i lasts t_mul**i, so i = floor(log(1 - f * (1 - t_mul)) / log(t_mul)).
            restarts = torch.floor(torch.log(1.0 - fraction * (1.0 - t_mul)) / torch.log(t_mul))
            elapsed = (1.0 - torch.pow(t_mul, restarts)) / (1.0 - t_mul)
            fraction = (fraction - elapsed) / torch.pow(t_mul, restarts)
        factor = torch.pow(m_mul, restarts)
        cosine = 0.5 * factor * (1.0 + torch.cos(torch.tensor(math.pi, dtype=dtype) * fraction))
        return initial * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }
