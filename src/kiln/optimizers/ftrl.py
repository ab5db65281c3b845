"""`Ftrl`: Follow The Regularized Leader (McMahan et al., 2013), for wide sparse models."""

import torch

from kiln.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """FTRL-Proximal with L1, L2 and L2-shrinkage regularization.

    Slots, interleaved per variable: `accumulator` (starting at
    `initial_accumulator_value`) and `linear`.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        learning_rate_power: Controls how the rate falls as the accumulator grows (<= 0).
        initial_accumulator_value: Starting value of the accumulators (>= 0).
        l1_regularization_strength: L1 strength (>= 0); produces exact zeros.
        l2_regularization_strength: L2 strength (>= 0).
        l2_shrinkage_regularization_strength: L2 shrinkage added to the gradient (>= 0).
        beta: The "beta" of the paper; adds `beta / (2 * lr)` to the L2 strength.
        **kwargs: The base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, clipnorm=None, clipvalue=None,
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
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[float(self.initial_accumulator_value), "zeros"])

    def update_step(self, gradient, variable, learning_rate):
        w = variable.value
        index = self._get_variable_index(variable)
        accumulator = self._accumulators[index].value
        linear = self._linears[index].value
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        shrunk_gradient = gradient + 2 * self.l2_shrinkage_regularization_strength * w
        new_accumulator = accumulator + gradient * gradient
        sigma = (torch.pow(new_accumulator, power) - torch.pow(accumulator, power)) / learning_rate
        linear.add_(shrunk_gradient - sigma * w)
        quadratic = torch.pow(new_accumulator, power) / learning_rate + 2 * l2
        l1 = self.l1_regularization_strength
        w.copy_((torch.clamp(linear, -l1, l1) - linear) / quadratic)
        accumulator.copy_(new_accumulator)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
