"""Exponential moving average (EMA) of the trained variables (`use_ema=True`)."""

import torch


def update_averages(variables, averages, momentum):
    """`average = momentum * average + (1 - momentum) * variable`, for all pairs at once."""
    pairs = [(a.value, v.value) for v, a in zip(variables, averages) if a is not None]
    if not pairs:
        return
    targets = [a for a, _ in pairs]
    torch._foreach_mul_(targets, momentum)
    torch._foreach_add_(targets, [v for _, v in pairs], alpha=1.0 - momentum)


def overwrite_with_averages(optimizer_name, variables, averages):
    """Copies each moving average into its variable."""
    if len(variables) != len(averages):
        raise ValueError(
            f"Optimizer '{optimizer_name}' holds moving averages for {len(averages)} "
            f"variables but received {len(variables)}. Pass the variables the optimizer "
            "was built with (model.trainable_variables)."
        )
    with torch.no_grad():
        for variable, average in zip(variables, averages):
            if average is not None:
                variable.value.copy_(average.value)
