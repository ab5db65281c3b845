"""`MonitorCallback`: the shared "did the monitored value improve?" logic.

Base of `EarlyStopping`, `ReduceLROnPlateau` and `ModelCheckpoint`.
"""

import operator
import warnings

from kiln.callbacks.callback import Callback


def metric_direction(model, name):
    """`"down"`/`"up"` for a compiled metric named `name` (as in the logs), else None."""
    for metric in getattr(model, "metrics", None) or []:
        named = getattr(metric, "named_metrics", None)
        candidates = named().items() if named is not None else [(metric.name, metric)]
        for log_name, m in candidates:
            if name in (log_name, m.name) and hasattr(m, "_direction"):
                return m._direction
    return None


class MonitorCallback(Callback):
    """Tracks the best value of a monitored log entry.

    Args:
        monitor: Name of the value in the epoch logs, such as `"val_loss"`.
        mode: `"min"`, `"max"` or `"auto"` (a name ending in `loss` is minimized; a
            compiled metric says which way is better, e.g. accuracy is maximized).
        baseline: Initial best value, or None.
        min_delta: Smallest change that counts as an improvement.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode. "
                "Use 'min', 'max' or 'auto'.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            direction = "down" if name.endswith("loss") else metric_direction(self.model, name)
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "kiln isn't able to automatically determine whether that metric should "
                    "be maximized or minimized. Pass `mode='max'` in order to monitor based "
                    "on the highest metric value, or pass `mode='min'` in order to use the "
                    "lowest value."
                )
            self.monitor_op = operator.lt if direction == "down" else operator.gt
        if self.monitor_op is operator.lt:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))
