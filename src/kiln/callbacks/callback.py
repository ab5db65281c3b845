"""`kiln.callbacks.Callback`: hooks into `fit()`, `evaluate()` and `predict()`."""

_HOOKS = (
    "on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end", "on_train_begin", "on_train_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
)


class Callback:
    """Base class of callbacks: override the hooks you need.

    `fit()` calls `on_train_begin`, then per epoch `on_epoch_begin`, per batch
    `on_train_batch_begin`/`on_train_batch_end`, and `on_epoch_end` (whose `logs` hold the
    epoch's metrics and, after validation, the `val_` ones); `evaluate()` and `predict()`
    call the `test` and `predict` hooks. `on_train_batch_*` default to the generic
    `on_batch_*` hooks, as in Keras.

    Attributes:
        params: Dict of run parameters (`verbose`, `epochs`, `steps`).
        model: The model being trained, evaluated or used for prediction.

    Example:
        >>> class StopAtLoss(kiln.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         if logs["loss"] < 0.1:
        ...             self.model.stop_training = True
        >>> model.fit(x, y, epochs=100, callbacks=[StopAtLoss()])
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    # -- generic batch hooks (training batches reach them by default) ------------------
    def on_batch_begin(self, batch, logs=None):
        """Called before a training batch (Keras 2 name of `on_train_batch_begin`)."""

    def on_batch_end(self, batch, logs=None):
        """Called after a training batch (Keras 2 name of `on_train_batch_end`)."""

    # -- epochs --------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch `epoch` (0-based) during `fit()`."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its metrics (`loss`, ..., `val_loss`, ...)."""

    # -- batches -------------------------------------------------------------------------
    def on_train_batch_begin(self, batch, logs=None):
        """Called before training batch `batch` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch with the running metrics of the epoch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before an `evaluate()` batch, and before validation batches in `fit()`."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after an evaluation batch with the running metrics."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a `predict()` batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a `predict()` batch; `logs["outputs"]` holds the batch outputs."""

    # -- whole runs -----------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        """Called once at the start of `fit()`."""

    def on_train_end(self, logs=None):
        """Called once at the end of `fit()` with the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate()` (and of each validation run)."""

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate()` with its final metrics."""

    def on_predict_begin(self, logs=None):
        """Called at the start of `predict()`."""

    def on_predict_end(self, logs=None):
        """Called at the end of `predict()`."""


def overrides(callback, hook):
    """True when `callback` replaces `hook` (in its class or on the instance)."""
    if hook in getattr(callback, "__dict__", {}):
        return True
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)
