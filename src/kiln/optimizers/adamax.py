"""`Adamax`: the infinity-norm variant of Adam."""

import torch

from kiln.optimizers.optimizer import Optimizer


class Adamax(Optimizer):
    """Adamax (section 7 of the Adam paper).

    `m = beta_1 * m + (1 - beta_1) * g; u = max(beta_2 * u, |g|);
    w -= lr * m / ((1 - beta_1**t) * (u + epsilon))`.
    Slots, interleaved per variable: `momentum`, `norm`.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        beta_1: Decay rate of the first moment.
        beta_2: Decay rate of the exponentially weighted infinity norm.
        epsilon: Small constant for numerical stability.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.Adamax(learning_rate=0.002)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(
            learning_rate=learning_rate, name=name, weight_decay=weight_decay,
            clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
            use_ema=use_ema, ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _parallel_update_step(self, grads, variables, learning_rate):
        params = [v.value for v in variables]
        correction = 1 - self.beta_1 ** self._local_step()
        m = self._slot_values(self._m, variables)
        u = self._slot_values(self._u, variables)
        torch._foreach_mul_(m, self.beta_1)
        torch._foreach_add_(m, grads, alpha=1 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominators = torch._foreach_add(u, self.epsilon)
        torch._foreach_mul_(denominators, correction)
        torch._foreach_addcdiv_(params, m, denominators, value=-learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
