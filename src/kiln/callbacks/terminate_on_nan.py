"""`TerminateOnNaN`: stops training as soon as the loss becomes NaN or infinite."""

import math

from kiln.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stops `fit()` when a batch's loss is NaN or infinite.

    Args:
        raise_error: Raise a `RuntimeError` instead of stopping quietly.

    Example:
        >>> model.fit(x, y, callbacks=[kiln.callbacks.TerminateOnNaN()])
    """

    _reads_lazy_logs = True

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately."
                )
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
