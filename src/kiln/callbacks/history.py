"""`History`: records every epoch's logs; `fit()` returns it."""

from kiln.callbacks.callback import Callback


class History(Callback):
    """Collects the logs of each epoch into `history` (a dict of lists).

    `fit()` adds one automatically and returns it; it is also `model.history`.

    Example:
        >>> history = model.fit(x, y, epochs=3, verbose=0)
        >>> history.history["loss"]
        [0.71, 0.52, 0.43]
        >>> history.params
        {'verbose': 0, 'epochs': 3, 'steps': 4}
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
