"""`LearningRateScheduler`: sets the learning rate at the start of every epoch."""

import numpy as np

from kiln.callbacks._lr import current_learning_rate
from kiln.callbacks.callback import Callback


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate from `schedule(epoch, lr)` before each epoch.

    `schedule` receives the 0-based epoch index and the current learning rate (or only
    the epoch, if it takes one argument) and returns the new rate as a float. The rate
    is also added to each epoch's logs as `learning_rate`.

    Args:
        schedule: `fn(epoch, lr) -> float` or `fn(epoch) -> float`.
        verbose: 1 prints the rate set at each epoch.

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> model.fit(x, y, epochs=15, callbacks=[kiln.callbacks.LearningRateScheduler(schedule)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = current_learning_rate(optimizer)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:  # a schedule taking only the epoch
            new_lr = self.schedule(epoch)
        if not isinstance(new_lr, (float, np.float32, np.float64)):
            raise ValueError(
                "The output of the `schedule` function should be a float. "
                f"Got: {new_lr!r} (type {type(new_lr).__name__}). Return e.g. `float(lr)`."
            )
        optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{new_lr}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)
