"""`Adadelta`: step sizes from running averages of squared gradients and squared updates."""

import torch

from kiln.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012).

    Slots, interleaved per variable: `accumulated_grad`, `accumulated_delta_var`.
    As in Keras, the update is also multiplied by `learning_rate` (use 1.0 for the
    original algorithm).

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        rho: Decay rate of both running averages.
        epsilon: Small constant for numerical stability.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.Adadelta(learning_rate=1.0, rho=0.95)
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
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
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def _rms(self, tensors):
        out = torch._foreach_add(tensors, self.epsilon)
        torch._foreach_sqrt_(out)
        return out

    def _parallel_update_step(self, grads, variables, learning_rate):
        params = [v.value for v in variables]
        rho = self.rho
        acc_grads = self._slot_values(self._accumulated_grads, variables)
        acc_deltas = self._slot_values(self._accumulated_delta_vars, variables)
        torch._foreach_mul_(acc_grads, rho)
        torch._foreach_addcmul_(acc_grads, grads, grads, value=1 - rho)
        # delta = -rms(previous updates) * g / rms(gradients)
        deltas = torch._foreach_mul(self._rms(acc_deltas), grads)
        torch._foreach_div_(deltas, self._rms(acc_grads))
        torch._foreach_neg_(deltas)
        torch._foreach_mul_(acc_deltas, rho)
        torch._foreach_addcmul_(acc_deltas, deltas, deltas, value=1 - rho)
        torch._foreach_add_(params, deltas, alpha=learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
