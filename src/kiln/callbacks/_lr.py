"""Reading an optimizer's learning rate as a Python float (shared by LR callbacks)."""


def current_learning_rate(optimizer):
    """The optimizer's learning rate now, as a float."""
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            'Optimizer must have a "learning_rate" attribute. Compile the model with a kiln '
            f"optimizer before using learning-rate callbacks. Received: optimizer={optimizer!r}"
        )
    lr = optimizer.learning_rate
    numpy = getattr(lr, "numpy", None)
    if numpy is not None:
        return float(numpy())
    return float(lr)
