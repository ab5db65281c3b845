"""`Adam`: adaptive moment estimation (Kingma & Ba, 2014)."""

import math

import torch

from kiln.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adam: per-element step sizes from running means of the gradient and its square.

    Slots, in saved order: `momentum` and `velocity` interleaved per variable
    (m0, v0, m1, v1, ...), then one `velocity_hat` per variable if `amsgrad`.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        beta_1: Decay rate of the first-moment (mean) estimate.
        beta_2: Decay rate of the second-moment (uncentered variance) estimate.
        epsilon: Small constant for numerical stability (the "epsilon hat" of the paper).
        amsgrad: Use the AMSGrad variant (running maximum of the second moment).
        **kwargs: The base `Optimizer` arguments (`weight_decay`, `clipnorm`, `use_ema`,
            `gradient_accumulation_steps`, `name`, ...).

    Example:
        >>> opt = kiln.optimizers.Adam(learning_rate=1e-3)
        >>> opt.apply(grads, model.trainable_variables)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
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
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _parallel_update_step(self, grads, variables, learning_rate):
        step = self._local_step()
        # Both bias corrections folded into the step size, as in Keras.
        alpha = learning_rate * math.sqrt(1 - self.beta_2 ** step) / (1 - self.beta_1 ** step)
        params = [v.value for v in variables]
        m = self._slot_values(self._momentums, variables)
        v = self._slot_values(self._velocities, variables)
        torch._foreach_mul_(m, self.beta_1)
        torch._foreach_add_(m, grads, alpha=1 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta_2)
        if self.amsgrad:
            v_hat = self._slot_values(self._velocity_hats, variables)
            torch._foreach_maximum_(v_hat, v)
            v = v_hat
        denominators = torch._foreach_sqrt(v)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(params, m, denominators, value=-alpha)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2,
                       "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config
