"""`Lion`: sign-of-momentum updates (Chen et al., 2023, "Symbolic Discovery of Optimization")."""

import torch

from kiln.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """Lion: every element moves by exactly `learning_rate`, in the direction of an
    interpolation between the momentum and the gradient.

    `w -= lr * sign(beta_1 * m + (1 - beta_1) * g); m = beta_2 * m + (1 - beta_2) * g`.
    One `momentum` slot per variable. Typical learning rates are 3-10x smaller than
    Adam's.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        beta_1: Interpolation factor for the update direction, in (0, 1].
        beta_2: Decay rate of the momentum.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.Lion(learning_rate=1e-4, weight_decay=0.01)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, name=name, weight_decay=weight_decay,
            clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
            use_ema=use_ema, ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Argument `beta_1` must be in the (0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _parallel_update_step(self, grads, variables, learning_rate):
        params = [v.value for v in variables]
        m = self._slot_values(self._momentums, variables)
        directions = torch._foreach_mul(m, self.beta_1)
        torch._foreach_add_(directions, grads, alpha=1 - self.beta_1)
        torch._foreach_sign_(directions)
        torch._foreach_add_(params, directions, alpha=-learning_rate)
        torch._foreach_mul_(m, self.beta_2)
        torch._foreach_add_(m, grads, alpha=1 - self.beta_2)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
