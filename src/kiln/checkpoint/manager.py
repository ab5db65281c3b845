"""`CheckpointManager`: numbered checkpoints in one folder, keeping only the newest few."""

import os
import time

from kiln.checkpoint import async_writer, state_file
from kiln.checkpoint import format as fmt
from kiln.checkpoint.checkpoint import save_objects


def _remove_checkpoint(prefix):
    for path in (fmt.index_path(prefix), fmt.data_path(prefix)):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


class CheckpointManager:
    """Saves `checkpoint` as `<directory>/<checkpoint_name>-<n>` and deletes old ones.

    The folder's `checkpoint` state file always lists the kept checkpoints; it is
    replaced (atomically) after a new checkpoint is complete and before old files are
    deleted, so it never names a checkpoint that is missing or half written.

    Args:
        checkpoint: A `kiln.checkpoint.Checkpoint`.
        directory: The folder to write to (created on the first save).
        max_to_keep: How many recent checkpoints to keep; None keeps all.
        keep_checkpoint_every_n_hours: Additionally keep one checkpoint per this many
            hours forever (they leave the managed list).
        checkpoint_name: The file prefix, `"ckpt"` by default.
        step_counter: A variable whose value numbers the checkpoints and drives
            `checkpoint_interval`.
        checkpoint_interval: With `step_counter`, save only every this many steps.
        init_fn: Called by `restore_or_initialize()` when there is nothing to restore.
        async_save: Write files in the background (see `Checkpoint.save`).

    Example:
        >>> manager = kiln.checkpoint.CheckpointManager(ckpt, "ckpts", max_to_keep=3)
        >>> manager.save()
        'ckpts/ckpt-1'
        >>> ckpt.restore(manager.latest_checkpoint)
    """

    def __init__(self, checkpoint, directory, max_to_keep=5, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None,
                 init_fn=None, async_save=False):
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"max_to_keep must be a positive integer or None. Received: "
                             f"max_to_keep={max_to_keep!r}")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("`step_counter` should be passed if `checkpoint_interval` is "
                             "not None.")
        if not checkpoint_name or os.sep in checkpoint_name or "/" in checkpoint_name:
            raise ValueError(f"checkpoint_name must be a plain file name. Received: "
                             f"{checkpoint_name!r}")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._name = checkpoint_name
        self._step_counter = step_counter
        self._interval = checkpoint_interval
        self._init_fn = init_fn
        self._writer = async_writer.AsyncWriter() if async_save else None
        self._last_step = None
        # Recover the kept checkpoints (and their times) from an existing state file.
        self._kept = []  # [(name, timestamp)], oldest first
        self._last_preserved = time.time()
        state = state_file.read(self._directory) if os.path.isdir(self._directory) else None
        if state is not None:
            stamps = state.timestamps if len(state.timestamps) == len(state.all) else None
            now = time.time()
            for i, name in enumerate(state.all):
                if os.path.exists(fmt.index_path(os.path.join(self._directory, name))):
                    self._kept.append((name, stamps[i] if stamps else now))
            if state.last_preserved is not None:
                self._last_preserved = state.last_preserved
        self._latest = self._path(self._kept[-1][0]) if self._kept else None

    def _path(self, name):
        return os.path.join(self._directory, name)

    # -- properties ---------------------------------------------------------------------------
    @property
    def directory(self):
        return self._directory

    @property
    def checkpoint(self):
        return self._checkpoint

    @property
    def latest_checkpoint(self):
        """The prefix of the newest checkpoint, or None (a background save counts once started)."""
        return self._latest

    @property
    def checkpoints(self):
        """The kept checkpoint prefixes, oldest first."""
        return [self._path(name) for name, _ in self._kept]

    @property
    def checkpoint_interval(self):
        return self._interval

    # -- saving --------------------------------------------------------------------------------
    def save(self, checkpoint_number=None, check_interval=True):
        """Saves a new numbered checkpoint; returns its prefix (None if the interval says no).

        Args:
            checkpoint_number: The number in the file name; defaults to the step counter's
                value, else the checkpoint's save counter after incrementing it.
            check_interval: With `step_counter` and `checkpoint_interval`, skip the save if
                fewer than `checkpoint_interval` steps passed since the last one.
        """
        if self._writer is None:
            self.sync()
        if self._interval is not None and check_interval:
            step = int(self._step_counter.numpy())
            if self._last_step is not None and step < self._last_step + self._interval:
                return None
            self._last_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        if checkpoint_number is None:
            checkpoint_number = (int(self._step_counter.numpy()) if self._step_counter is not None
                                 else int(counter.numpy()))
        name = f"{self._name}-{int(checkpoint_number)}"
        now = time.time()
        self._kept = [(n, t) for n, t in self._kept if n != name] + [(name, now)]
        removed = self._sweep()
        state = state_file.CheckpointState(name, [n for n, _ in self._kept],
                                           [t for _, t in self._kept], self._last_preserved)
        prefix = self._path(name)
        self._latest = prefix

        def record():
            state_file.write(self._directory, state)
            for old in removed:
                _remove_checkpoint(self._path(old))

        return save_objects(self._checkpoint, prefix, self._writer, after=record)

    def _sweep(self):
        """Drops the oldest checkpoints beyond `max_to_keep`; returns the names to delete."""
        removed = []
        if self._max_to_keep is None:
            return removed
        while len(self._kept) > self._max_to_keep:
            name, stamp = self._kept.pop(0)
            if self._keep_hours is not None and stamp - self._last_preserved >= self._keep_hours * 3600:
                self._last_preserved = stamp
                continue  # preserved forever, no longer managed
            removed.append(name)
        return removed

    def sync(self):
        """Waits for a background save; raises its error if it failed."""
        if self._writer is not None:
            self._writer.wait()

    def restore_or_initialize(self):
        """Restores the latest checkpoint if there is one (returning its path), else calls
        `init_fn` and returns None."""
        if self._latest is not None:
            self._checkpoint.restore(self._latest)
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None
