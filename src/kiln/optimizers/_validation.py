"""Argument checks for `Optimizer.__init__`, kept apart so the base class stays readable."""

import numbers

import numpy as np
import torch

from kiln.core.variable import Variable


def as_float(value, what):
    """Returns `value` (a number, 0-d tensor or Variable) as a Python float, or raises."""
    if isinstance(value, Variable):
        value = value.value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.generic)):
        raise ValueError(
            f"Argument `{what}` should be a float, a LearningRateSchedule or a callable "
            f"returning the current learning rate. Received instead: {what}={value!r}"
        )
    return float(value)


def check_arguments(clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                    ema_overwrite_frequency, gradient_accumulation_steps):
    """Raises ValueError for the combinations Keras rejects."""
    if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
        raise ValueError(
            "`gradient_accumulation_steps` must be an integer >= 2. Received: "
            f"gradient_accumulation_steps={gradient_accumulation_steps}"
        )
    if use_ema:
        if not 0 <= ema_momentum <= 1:
            raise ValueError(
                f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}"
            )
        if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                        or ema_overwrite_frequency < 1):
            raise ValueError(
                "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                f"ema_overwrite_frequency={ema_overwrite_frequency}"
            )
    if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
        raise ValueError(
            "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
            f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
        )
