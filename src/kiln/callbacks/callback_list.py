"""`CallbackList`: calls every callback's hook, in order, as one callback.

Per-batch hooks are the hot path of `fit()`. The list works out once which callbacks
really override each batch hook and calls only those. Batch `logs` from the trainer may
be lazy (computed on first read, see `kiln.trainers.logs`): kiln's own callbacks read
them only when they need values, while any other callback receives a plain dict of
Python floats, as in Keras.
"""

from kiln.callbacks.callback import _HOOKS, Callback, overrides
from kiln.callbacks.history import History
from kiln.callbacks.progbar_logger import ProgbarLogger

_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _plain(logs):
    materialize = getattr(logs, "materialize", None)
    return materialize() if materialize is not None else logs


def _flatten(callbacks):
    out = []
    for cb in callbacks or []:
        if isinstance(cb, (list, tuple)):
            out.extend(_flatten(cb))
        elif cb is not None:
            out.append(cb)
    return out


class CallbackList(Callback):
    """A list of callbacks that is itself a callback.

    Args:
        callbacks: A list of `Callback` instances.
        add_history: Add a `History` callback if the list has none.
        add_progbar: Add a `ProgbarLogger` if the list has none.
        model: The model the callbacks observe.
        **params: Run parameters passed to every callback's `set_params()`.

    Example:
        >>> callbacks = kiln.callbacks.CallbackList([MyCallback()], model=model)
        >>> callbacks.on_train_begin()
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = _flatten(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not all(hasattr(cb, h) for h in _HOOKS):
                raise TypeError(
                    "Every callback must be a `kiln.callbacks.Callback` instance. Received: "
                    f"{cb!r} of type {type(cb).__name__}. Subclass kiln.callbacks.Callback."
                )
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)),
                             None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        # Callbacks that snapshot the others' state (BackupAndRestore) run last and may
        # see the whole list through `_set_siblings`.
        self.callbacks.sort(key=lambda cb: bool(getattr(cb, "_runs_last", False)))
        for cb in self.callbacks:
            if hasattr(cb, "_set_siblings"):
                cb._set_siblings(self.callbacks)
        self._dispatch = None
        self.set_model(model)
        self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)
        self._dispatch = None

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def _receivers(self, hook):
        if self._dispatch is None:
            self._dispatch = {
                name: [cb for cb in self.callbacks if any(overrides(cb, h) for h in hooks)]
                for name, hooks in _BATCH_HOOKS.items()
            }
        return self._dispatch[hook]

    def wants(self, hook):
        """True when some callback overrides batch hook `hook` (the trainer skips it otherwise)."""
        return bool(self._receivers(hook))

    def _call_batch_hook(self, hook, batch, logs):
        for cb in self._receivers(hook):
            given = logs if getattr(cb, "_reads_lazy_logs", False) else _plain(logs)
            getattr(cb, hook)(batch, logs=given)

    # -- batch hooks -------------------------------------------------------------------
    def on_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_predict_batch_end", batch, logs)

    # -- epoch and run hooks (one shared dict, so callbacks may add entries) -------------
    def _call_all(self, hook, *args, logs=None):
        logs = {} if logs is None else _plain(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call_all("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call_all("on_epoch_end", epoch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call_all("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call_all("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call_all("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call_all("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call_all("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call_all("on_predict_end", logs=logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)
