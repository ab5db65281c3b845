"""Callbacks (`kiln.callbacks`): hooks into `fit()`, `evaluate()` and `predict()`.

The same classes, arguments, log names and printed messages as `keras.callbacks`.
"""

from kiln.callbacks.backup_and_restore import BackupAndRestore
from kiln.callbacks.callback import Callback
from kiln.callbacks.callback_list import CallbackList
from kiln.callbacks.csv_logger import CSVLogger
from kiln.callbacks.early_stopping import EarlyStopping
from kiln.callbacks.history import History
from kiln.callbacks.lambda_callback import LambdaCallback
from kiln.callbacks.learning_rate_scheduler import LearningRateScheduler
from kiln.callbacks.model_checkpoint import ModelCheckpoint
from kiln.callbacks.monitor_callback import MonitorCallback
from kiln.callbacks.progbar_logger import ProgbarLogger
from kiln.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from kiln.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "Callback",
    "CallbackList",
    "CSVLogger",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
