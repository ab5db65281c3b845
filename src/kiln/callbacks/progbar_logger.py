"""`ProgbarLogger`: prints the progress bar of `fit()`, `evaluate()` and `predict()`."""

from kiln.callbacks.callback import Callback
from kiln.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar with the running metrics.

    Added automatically when `verbose` is not 0. Validation inside `fit()` is silent;
    its `val_` metrics appear on the epoch's final line. Metrics are read from the logs
    only when the bar is actually redrawn, so a quiet bar costs no device syncs.

    Example:
        >>> model.fit(x, y, epochs=2, callbacks=[kiln.callbacks.ProgbarLogger()])
    """

    _reads_lazy_logs = True

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(None)

    def _reset(self):
        self.seen = 0
        self.progbar = None

    def _bar(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   unit_name="step", stateless_metrics=set())
        return self.progbar

    def _update(self, batch, logs):
        bar = self._bar()
        self.seen = batch + 1
        if self.verbose != 1:
            return
        if bar.will_render(self.seen, finalize=False):
            bar.update(self.seen, list((logs or {}).items()), finalize=False)
        else:
            bar.update(self.seen, None, finalize=False)

    def _finalize(self, logs):
        bar = self._bar()
        if self.target is None:
            # Unknown length (a generator): the first run teaches it.
            self.target = self.seen
            bar.target = self.seen
        bar.update(self.target, list((logs or {}).items()), finalize=True)
