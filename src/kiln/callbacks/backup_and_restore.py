"""`BackupAndRestore`: resume an interrupted `fit()` exactly where it stopped."""

import json
import os
import warnings

import numpy as np

from kiln.callbacks import _training_state as ts
from kiln.callbacks.callback import Callback

_STATE = "training_state"
_FORMAT_VERSION = 1


class BackupAndRestore(Callback):
    """Backs up the whole training state so that a killed `fit()` can resume exactly.

    Run the same script again after an interruption: `fit()` restarts at the epoch and
    batch of the last backup, with the weights, the optimizer state (and so the
    learning-rate schedule position), the random generators (shuffling, dropout), the
    running metrics of the epoch, and the state of the other callbacks (EarlyStopping's
    `wait`/`best`, ModelCheckpoint's best value, History) as they were. The losses of an
    interrupted-and-resumed run equal those of an uninterrupted one.

    Backups are object-graph checkpoints in `backup_dir`, written atomically: a crash
    during a backup leaves the previous one in place.

    Args:
        backup_dir: Folder for the backups (use one per training run).
        save_freq: `"epoch"` to back up at the end of every epoch, or an integer to back up
            every that many batches (resuming then happens in the middle of an epoch).
        delete_checkpoint: Delete the backups when `fit()` finishes.
        double_checkpoint: Keep the previous backup too, and fall back to it if the latest
            one cannot be read.

    Exact resumption needs the same code, data and seeds, deterministic kernels, and data
    whose epochs can be replayed: in-memory arrays or a torch `DataLoader` (a Python
    generator cannot be rewound, and `steps_per_epoch` shorter than the data makes epochs
    that do not start at the data's beginning).

    Example:
        >>> backup = kiln.callbacks.BackupAndRestore("backups/run1", save_freq=100)
        >>> model.fit(x, y, epochs=10, callbacks=[backup])   # run again after a crash
    """

    _runs_last = True  # it must see the other callbacks' state after their hooks ran

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True,
                 double_checkpoint=False):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed. Pass the folder to keep "
                             "backups in, e.g. BackupAndRestore('backups/run1').")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq <= 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq="
                             f"{save_freq!r}. Expected either 'epoch' or a positive integer.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.double_checkpoint = double_checkpoint
        self._siblings = []
        self._manager = None
        self._checkpoint = None
        self._epoch_rng = None      # (json, arrays) at the start of the current epoch
        self._batch_rng = None      # generators to set before the first resumed batch
        self._resume = None         # (path, state) found at the start of fit()
        self._batches_seen = 0
        self._current_epoch = 0
        self._save_at_epoch_end = False

    def _set_siblings(self, callbacks):
        self._siblings = callbacks

    def _others(self):
        from kiln.callbacks.progbar_logger import ProgbarLogger

        return [cb for cb in self._siblings
                if cb is not self and not isinstance(cb, (ProgbarLogger, BackupAndRestore))]

    # -- the checkpoint --------------------------------------------------------------------
    def _objects(self, with_metrics, arrays, state_json):
        from kiln.checkpoint import Checkpoint, CheckpointManager

        if self._checkpoint is None:
            self._checkpoint = Checkpoint(model=self.model)
            self._manager = CheckpointManager(
                self._checkpoint, self.backup_dir, max_to_keep=2 if self.double_checkpoint else 1,
                checkpoint_name="backup")
        ckpt = self._checkpoint
        for name in list(ckpt._kiln_children):
            if name != "model":
                delattr(ckpt, name)
        ckpt.model = self.model
        if with_metrics:
            ckpt.metrics = list(self.model.metrics)
        for name, array in arrays.items():
            setattr(ckpt, name, array)
        setattr(ckpt, _STATE, np.frombuffer(state_json, dtype=np.uint8).copy())
        return ckpt

    def _save(self, epoch, step):
        arrays = {}
        state = {"version": _FORMAT_VERSION, "epoch": epoch, "step": step,
                 "batches_seen": self._batches_seen,
                 "rng": ts.capture_rng(arrays, "rng"), "epoch_rng": None,
                 "callbacks": [{"class": type(cb).__name__, "state": ts.capture_callback(cb, arrays)}
                               for cb in self._others()]}
        if step:
            epoch_json, epoch_arrays = self._epoch_rng
            state["epoch_rng"] = epoch_json
            arrays.update(epoch_arrays)
        data = json.dumps(state).encode("utf-8")
        self._objects(step > 0, arrays, data)
        self._manager.save()

    def _read_state(self, path):
        from kiln.checkpoint import load_checkpoint

        reader = load_checkpoint(path)
        raw = reader.get_tensor(f"{_STATE}/.ATTRIBUTES/PYTHON_VALUE")
        state = json.loads(np.asarray(raw, dtype=np.uint8).tobytes().decode("utf-8"))
        if not isinstance(state, dict) or state.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{path} is not a BackupAndRestore backup of this kiln version.")
        return state

    def _find_backup(self):
        from kiln.checkpoint import CheckpointManager, Checkpoint

        if not os.path.isdir(self.backup_dir):
            return None
        manager = CheckpointManager(Checkpoint(), self.backup_dir, checkpoint_name="backup")
        candidates = list(reversed(manager.checkpoints))
        for i, path in enumerate(candidates):
            try:
                return path, self._read_state(path)
            except Exception as err:  # a damaged backup: fall back to the previous one
                if i + 1 == len(candidates):
                    raise
                warnings.warn(f"Backup {path} could not be read ({err}); using the previous "
                              f"backup {candidates[i + 1]}.", stacklevel=3)
        return None

    def _restore(self, path, state):
        """Restores every piece of state; the random generators are set by the caller."""
        names = ts.callback_array_names(state["callbacks"]) + ts.array_names(state["rng"], "rng")
        if state["epoch_rng"] is not None:
            names += ts.array_names(state["epoch_rng"], "epoch_rng")
        ckpt = self._objects(state["step"] > 0, {n: np.zeros(0) for n in names}, b"{}")
        ckpt.restore(path).expect_partial().assert_existing_objects_matched()
        arrays = {n: getattr(ckpt, n) for n in names}
        # Callbacks are matched by class and by order among callbacks of that class.
        saved = {}
        for entry in state["callbacks"]:
            saved.setdefault(entry["class"], []).append(entry["state"])
        for cb in self._others():
            queue = saved.get(type(cb).__name__)
            if queue:
                ts.restore_callback(cb, queue.pop(0), arrays)
            elif ts.capture_callback(cb, {}):  # stateless callbacks need nothing
                warnings.warn(f"BackupAndRestore: the backup holds no state for callback "
                              f"{type(cb).__name__}; its state starts fresh.", stacklevel=3)
        self._batches_seen = state["batches_seen"]
        return arrays

    # -- hooks ------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._epoch_rng = None
        self._batch_rng = None
        self._save_at_epoch_end = False
        self._resume = self._find_backup()
        if self._resume is None:
            self._batches_seen = 0
            return
        path, state = self._resume
        self.model._initial_epoch = state["epoch"]
        self.model._initial_step = state["step"]
        if state["step"] == 0:  # a backup between epochs: restore now
            arrays = self._restore(path, state)
            ts.restore_rng(state["rng"], arrays, "rng")
            self._resume = None

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        resume, self._resume = self._resume, None
        if resume is not None and resume[1]["epoch"] == epoch:
            # A backup from the middle of this epoch: everything was re-initialized by the
            # other callbacks' hooks, so restore now; the generators go back to the start of
            # the epoch (the data order is drawn from them), and to the backup's point just
            # before the first batch that is actually trained.
            path, state = resume
            arrays = self._restore(path, state)
            ts.restore_rng(state["epoch_rng"], arrays, "epoch_rng")
            self._batch_rng = (state["rng"], arrays)
        arrays = {}
        self._epoch_rng = (ts.capture_rng(arrays, "epoch_rng"), arrays)

    def _apply_batch_rng(self):
        if self._batch_rng is not None:
            state, arrays = self._batch_rng
            self._batch_rng = None
            ts.restore_rng(state, arrays, "rng")

    def on_train_batch_begin(self, batch, logs=None):
        self._apply_batch_rng()

    def on_test_begin(self, logs=None):
        # A backup taken after the epoch's last batch: no batch is left to train, so the
        # generators are set before validation instead.
        self._apply_batch_rng()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            steps = (self.params or {}).get("steps")
            if steps is not None and batch + 1 >= steps:
                # After the epoch's last batch the backup waits for the end of the epoch,
                # so that a resumed run always has a batch to train before validating.
                self._save_at_epoch_end = True
            else:
                self._save(self._current_epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self._apply_batch_rng()
        if self.save_freq == "epoch" or self._save_at_epoch_end:
            self._save_at_epoch_end = False
            self._save(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if self._manager is not None:
            self._manager.sync()
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            self._delete_backups()
        self._checkpoint = self._manager = None

    def _delete_backups(self):
        from kiln.checkpoint import state_file
        from kiln.checkpoint import format as fmt

        for name in os.listdir(self.backup_dir):
            if name == state_file.STATE_FILENAME or name.startswith("backup-") and name.endswith(
                    (fmt.INDEX_SUFFIX, fmt.DATA_SUFFIX)):
                try:
                    os.remove(os.path.join(self.backup_dir, name))
                except FileNotFoundError:
                    pass
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass  # not empty: something else lives there
