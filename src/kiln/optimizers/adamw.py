"""`AdamW`: Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

from kiln.optimizers.adam import Adam


class AdamW(Adam):
    """Adam whose weight decay shrinks the variables directly rather than the gradient.

    Identical to `Adam(weight_decay=...)`; `weight_decay` defaults to 0.004 and is
    required. Slots as in `Adam`.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        weight_decay: Each step multiplies the variables by `1 - weight_decay * lr`.
        beta_1, beta_2, epsilon, amsgrad: As in `Adam`.
        **kwargs: The other base `Optimizer` arguments.

    Example:
        >>> opt = kiln.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01)
        >>> opt.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            amsgrad=amsgrad, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if self.weight_decay is None:
            raise ValueError(
                "AdamW needs a float `weight_decay` (use Adam for no decay). "
                "Received: weight_decay=None"
            )
