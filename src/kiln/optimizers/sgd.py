"""`SGD`: gradient descent, optionally with (Nesterov) momentum."""

import torch

from kiln.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent.

    Without momentum: `w -= lr * g`. With momentum: `m = momentum * m - lr * g`, then
    `w += m`, or with Nesterov `w += momentum * m - lr * g`. One `momentum` slot per
    variable exists only when `momentum != 0`.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.01.
        momentum: A float in [0, 1].
        nesterov: Use Nesterov momentum.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
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
        if not isinstance(momentum, (float, int)) or isinstance(momentum, bool) \
                or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def _parallel_update_step(self, grads, variables, learning_rate):
        params = [v.value for v in variables]
        if self.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-learning_rate)
            return
        buffers = self._slot_values(self.momentums, variables)
        torch._foreach_mul_(buffers, self.momentum)
        torch._foreach_add_(buffers, grads, alpha=-learning_rate)
        if self.nesterov:
            torch._foreach_add_(params, grads, alpha=-learning_rate)
            torch._foreach_add_(params, buffers, alpha=self.momentum)
        else:
            torch._foreach_add_(params, buffers)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
