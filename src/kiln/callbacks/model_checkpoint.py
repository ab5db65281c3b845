"""`ModelCheckpoint`: saves the model or its weights during training (keras-format.md §7)."""

import os
import re
import warnings

import numpy as np
import torch

from kiln.callbacks.monitor_callback import MonitorCallback

_WEIGHTS_SUFFIXES = (".weights.h5", ".h5", ".hdf5", ".ckpt", ".safetensors")
_ASYNC_SUFFIXES = ("", ".ckpt", ".safetensors")
_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def _suffix_of(filepath):
    """The extension of `filepath` once `{...}` placeholders are removed ('' if none)."""
    base = re.sub(r"\{[^}]*\}", "", os.path.basename(filepath))
    if base.endswith(".weights.h5"):
        return ".weights.h5"
    return os.path.splitext(base)[1]


class ModelCheckpoint(MonitorCallback):
    """Saves the model (`.keras`, `.h5`) or its weights while training.

    Args:
        filepath: Where to save. May contain `str.format` fields filled with `epoch`
            (1-based), `batch` (1-based, for batch-level saving) and the log values, e.g.
            `"ckpt/model-{epoch:02d}-{val_loss:.2f}.keras"`.
        monitor: Log entry used by `save_best_only`.
        verbose: 1 prints a message for every save decision.
        save_best_only: Save only when `monitor` improves on the best value so far.
        save_weights_only: Call `model.save_weights()` instead of `model.save()`. The path
            then ends in `.weights.h5`, `.safetensors`, or is a checkpoint prefix (`.ckpt`
            or no extension: an object-graph checkpoint, `cp.ckpt.index` +
            `cp.ckpt.data-00000-of-00001` + the folder's `checkpoint` state file).
        mode: `"auto"`, `"min"` or `"max"`; how `monitor` improves.
        save_freq: `"epoch"` or an integer number of batches between saves.
        initial_value_threshold: Initial best value for `save_best_only`.
        async_save: Copy the weights and write the files on a background thread, so that
            training only waits for the copy. At most one save is in flight (the next one
            waits for it); a failed write raises at the next save or at the end of `fit()`,
            which also waits for the last write. Supported for weights-only checkpoint and
            `.safetensors` paths; other formats are saved synchronously with a warning.

    Example:
        >>> checkpoint = kiln.callbacks.ModelCheckpoint(
        ...     "ckpt/best.keras", monitor="val_accuracy", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    """

    _reads_lazy_logs = True

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, async_save=False):
        super().__init__(monitor, mode, initial_value_threshold)
        self.async_save = bool(async_save)
        self._writer = None
        self._prepared_after_batch = False
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or "
                "integer values"
            )
        suffix = _suffix_of(self.filepath)
        if save_weights_only:
            if suffix not in _WEIGHTS_SUFFIXES and suffix != "":
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format). Received: "
                    f"filepath={self.filepath}"
                )
        elif suffix not in _MODEL_SUFFIXES and suffix not in ("", ".ckpt"):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). Received: "
                f"filepath={self.filepath}"
            )

    # -- hooks -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.async_save:
            self._prepared_after_batch = False
            self._prepare_background_saves()

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.async_save and not self._prepared_after_batch
                and (self._writer is None or not self._writer.busy)):
            # The optimizer slots exist now. While the buffers from `on_train_begin` are
            # still being allocated, try again after the next batch rather than wait here.
            self._prepared_after_batch = True
            self._prepare_background_saves()
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    # -- decisions ---------------------------------------------------------------------
    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch started
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if isinstance(current, (np.ndarray, torch.Tensor)) and len(current.shape) > 0:
            warnings.warn(
                "Can save best model only when `monitor` is a scalar value. Received: "
                f"{current}. Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                      f"{current:.5f}, saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}",
                  flush=True)
        return False

    def _save_model(self, epoch, batch, logs):
        logs = dict(logs or {})
        filepath = self._get_file_path(epoch, batch, logs)
        try:
            if not self._should_save_model(epoch, logs, filepath):
                return
            dirname = os.path.dirname(filepath)
            if dirname and not os.path.exists(dirname):
                os.makedirs(dirname, exist_ok=True)
            if self.async_save and self._save_in_background(filepath):
                pass
            elif self.save_weights_only:
                self.model.save_weights(filepath, overwrite=True)
            else:
                self.model.save(filepath, overwrite=True)
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)
        except IsADirectoryError as e:
            raise IOError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used "
                f"is an existing directory: {filepath}"
            ) from e

    def _prepare_background_saves(self):
        """Allocates the snapshot buffers on the writer thread, so that no save pays for
        fresh memory: at the start of `fit()` for the variables that exist then, and again
        after the first batch for those the first step creates (optimizer slots). Buffers
        that already fit are kept, so the second call only allocates the new ones."""
        from kiln.checkpoint import async_writer

        if self._writer is None:
            self._writer = async_writer.AsyncWriter()
        suffix = _suffix_of(self.filepath)
        if not self.save_weights_only or suffix not in _ASYNC_SUFFIXES:
            return
        if suffix == ".safetensors":
            tensors = self.model.state_dict()
        else:
            from kiln.checkpoint import checkpoint, object_graph

            tensors = checkpoint.graph_tensors(object_graph.Graph(self.model))
        self._writer.prepare(tensors)

    def _save_in_background(self, filepath):
        """Starts a background save of the weights; False if the format cannot do that."""
        suffix = _suffix_of(filepath)
        if not self.save_weights_only or suffix not in _ASYNC_SUFFIXES:
            if not getattr(self, "_warned_sync", False):
                self._warned_sync = True
                warnings.warn(
                    f"ModelCheckpoint(async_save=True) writes weights-only checkpoint and "
                    f"`.safetensors` files in the background; {filepath!r} is saved "
                    "synchronously.", stacklevel=4)
            return False
        from kiln.checkpoint import async_writer

        if self._writer is None:
            self._writer = async_writer.AsyncWriter()
        if suffix == ".safetensors":
            from kiln.saving import safetensors_store

            tensors = self._writer.snapshot(self.model.state_dict(), defer=True)
            metadata = {"format": "pt", "producer": "kiln"}
            self._writer.submit(safetensors_store.save_safetensors, filepath, tensors, metadata,
                                description=repr(filepath))
        else:
            from kiln.checkpoint import weights

            # Inside fit every write to the weights goes through kiln, so the copy can
            # overlap the next step (see kiln.core.write_guard).
            weights.save_weights(self.model, filepath, writer=self._writer, defer=True)
        return True

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.wait()  # fit() returns only once the last file is written

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}'
            ) from e

    def _checkpoint_exists(self, filepath):
        return os.path.exists(filepath)

    def _get_most_recently_modified_file_matching_pattern(self, pattern):
        """The newest file matching `pattern` (its `{...}` fields match anything).

        Ties on modification time go to the lexicographically largest path.
        """
        dir_name = os.path.dirname(pattern)
        regex = re.compile("^" + re.sub(r"\{.*\}", ".*", os.path.basename(pattern)) + "$")
        latest_time, latest, n_latest, largest = 0, None, 0, None
        if not os.path.exists(dir_name or "."):
            return None
        for name in os.listdir(dir_name or "."):
            if not regex.match(name):
                continue
            path = os.path.join(dir_name, name)
            mtime = os.path.getmtime(path)
            if largest is None or path > largest:
                largest = path
            if mtime > latest_time:
                latest_time, latest, n_latest = mtime, path, 1
            elif mtime == latest_time:
                n_latest += 1
        return latest if n_latest == 1 else largest
