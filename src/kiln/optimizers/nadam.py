"""`Nadam`: Adam with Nesterov momentum (Dozat, 2016)."""

import torch

from kiln.core.variable import Variable
from kiln.optimizers.optimizer import Optimizer


class Nadam(Optimizer):
    """Nadam: Adam whose first moment looks one step ahead, with a momentum schedule.

    Slots: `momentum` and `velocity` interleaved per variable, then one scalar holding
    the running product of the momentum schedule (last, as in Keras, where it is an
    unnamed variable).

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        beta_1: Decay rate of the first moment.
        beta_2: Decay rate of the second moment.
        epsilon: Small constant for numerical stability.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.Nadam(learning_rate=0.002)
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
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else "float32"
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        # Keras creates this without a name, so it is auto-named "variable" (tracked last).
        u_product = Variable(1.0, dtype=dtype, trainable=False)
        u_product.path = f"{self.name}/{u_product.name}"
        self._u_product = u_product

    def _parallel_update_step(self, grads, variables, learning_rate):
        params = [v.value for v in variables]
        step = self._local_step()
        u_t = self.beta_1 * (1.0 - 0.5 * 0.96 ** step)
        u_t_next = self.beta_1 * (1.0 - 0.5 * 0.96 ** (step + 1))
        u_product = float(self._u_product.value) * u_t
        u_product_next = u_product * u_t_next
        self._u_product.value.fill_(u_product)

        m = self._slot_values(self._momentums, variables)
        v = self._slot_values(self._velocities, variables)
        torch._foreach_mul_(m, self.beta_1)
        torch._foreach_add_(m, grads, alpha=1 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta_2)

        # m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t)
        m_hat = torch._foreach_mul(m, u_t_next / (1 - u_product_next))
        torch._foreach_add_(m_hat, grads, alpha=(1 - u_t) / (1 - u_product))
        # sqrt(v_hat) + epsilon, with v_hat = v / (1 - beta_2**t)
        denominators = torch._foreach_div(v, 1 - self.beta_2 ** step)
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(params, m_hat, denominators, value=-learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
