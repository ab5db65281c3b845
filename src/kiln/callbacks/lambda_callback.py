"""`LambdaCallback`: a callback built from plain functions."""

from kiln.callbacks.callback import Callback


class LambdaCallback(Callback):
    """Calls the given functions at the matching points of training.

    `on_epoch_begin`/`on_epoch_end` take `(epoch, logs)`, `on_train_batch_begin`/
    `on_train_batch_end` take `(batch, logs)`, `on_train_begin`/`on_train_end` take
    `(logs)`. Other hooks (e.g. `on_test_end=fn`) may be passed as keyword arguments.

    Example:
        >>> print_loss = kiln.callbacks.LambdaCallback(
        ...     on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
        >>> model.fit(x, y, callbacks=[print_loss])
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
