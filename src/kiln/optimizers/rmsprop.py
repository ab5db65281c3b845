"""`RMSprop`: divide the gradient by a running root-mean-square of recent gradients."""

import torch

from kiln.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), with optional momentum and centering.

    Slots, in saved order (separate groups, not interleaved): one `velocity` per
    variable, then one `momentum` per variable if `momentum > 0`, then one
    `average_gradient` per variable if `centered`.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        rho: Discount factor of the squared-gradient average.
        momentum: If > 0, accumulate the steps with this momentum.
        epsilon: Small constant for numerical stability.
        centered: Normalize by the estimated variance instead of the second moment.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.RMSprop(learning_rate=1e-3, centered=True)
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, name=name, weight_decay=weight_decay,
            clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
            use_ema=use_ema, ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient")

    def _parallel_update_step(self, grads, variables, learning_rate):
        params = [v.value for v in variables]
        rho = self.rho
        velocities = self._slot_values(self._velocities, variables)
        torch._foreach_mul_(velocities, rho)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - rho)
        denominators = torch._foreach_add(velocities, self.epsilon)
        if self.centered:
            averages = self._slot_values(self._average_gradients, variables)
            torch._foreach_mul_(averages, rho)
            torch._foreach_add_(averages, grads, alpha=1 - rho)
            torch._foreach_addcmul_(denominators, averages, averages, value=-1)
        torch._foreach_sqrt_(denominators)
        if self.momentum > 0:
            momentums = self._slot_values(self._momentums, variables)
            torch._foreach_mul_(momentums, self.momentum)
            torch._foreach_addcdiv_(momentums, grads, denominators, value=learning_rate)
            torch._foreach_sub_(params, momentums)
        else:
            torch._foreach_addcdiv_(params, grads, denominators, value=-learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum,
                       "epsilon": self.epsilon, "centered": self.centered})
        return config
