"""`LearningRateSchedule`: the base class for learning rates that change with the step."""

import torch

from kiln.core.variable import Variable


class LearningRateSchedule:
    """A serializable learning rate that depends on the optimizer's iteration count.

    Pass an instance as an optimizer's `learning_rate`; the optimizer calls it with its
    iteration counter before each update. Subclasses implement `__call__(step)`
    (returning a 0-d tensor or a float) and `get_config()`.

    Example:
        >>> class Halving(kiln.optimizers.schedules.LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate * 0.5 ** (float(step) // 100)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> optimizer = kiln.optimizers.SGD(learning_rate=Halving(0.1))
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override "
            "`__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        """Creates a schedule from the dict returned by `get_config()`."""
        return cls(**config)


def as_float_tensor(value):
    """`value` (number, tensor or Variable) as a float tensor; Python numbers become float32.

    Keras computes every built-in schedule in the dtype of its initial learning rate,
    which is float32 unless a tensor of another float dtype is given.
    """
    if isinstance(value, Variable):
        value = value.value
    if isinstance(value, torch.Tensor):
        return value.detach() if value.is_floating_point() else value.detach().float()
    return torch.tensor(value, dtype=torch.float32)


def as_step(step, dtype):
    """The iteration count `step` (int, tensor or Variable) cast to float `dtype`."""
    if isinstance(step, Variable):
        step = step.value
    if isinstance(step, torch.Tensor):
        return step.detach().to(dtype)
    return torch.tensor(step, dtype=dtype)


def check_decay_steps(value, name="decay_steps"):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
