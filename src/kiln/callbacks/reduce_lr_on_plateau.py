"""`ReduceLROnPlateau`: lowers the learning rate when a metric stops improving."""

import warnings

import numpy as np

from kiln.callbacks._lr import current_learning_rate
from kiln.callbacks.monitor_callback import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by `factor` after `patience` epochs without improvement.

    Args:
        monitor: Log entry to watch (default `"val_loss"`).
        factor: Factor applied to the rate (`new_lr = lr * factor`), below 1.
        patience: Epochs without improvement before reducing.
        verbose: 1 prints a message on every reduction.
        mode: `"auto"`, `"min"` or `"max"`.
        min_delta: Smallest change that counts as an improvement.
        cooldown: Epochs to wait after a reduction before counting again.
        min_lr: Lower bound of the learning rate.

    Example:
        >>> reduce = kiln.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5)
        >>> model.fit(x, y, validation_split=0.2, callbacks=[reduce])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}. "
                "Pass a factor below 1, e.g. 0.1."
            )
        if kwargs.pop("epsilon", None) is not None:
            warnings.warn("`epsilon` is deprecated; use `min_delta`.", stacklevel=2)
        if kwargs:
            raise ValueError(f"ReduceLROnPlateau got unexpected arguments: {sorted(kwargs)}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = {} if logs is None else logs
        optimizer = self.model.optimizer
        logs["learning_rate"] = current_learning_rate(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs.keys())}.", stacklevel=3)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = current_learning_rate(optimizer)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.", flush=True)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
