"""`kiln.checkpoint.Checkpoint`: save and restore a group of objects (`tf.train.Checkpoint`)."""

import json
import os
import warnings

import numpy as np
import torch

from kiln.checkpoint import async_writer, object_graph, state_file, status
from kiln.checkpoint import format as fmt
from kiln.checkpoint.object_graph import PlainValue
from kiln.core.variable import Variable


def _check_trackable(name, value):
    if isinstance(value, (bool, int, float, np.ndarray, torch.Tensor)) and not isinstance(
            value, Variable):
        return
    if isinstance(value, (list, tuple, dict)) or object_graph.is_trackable(value):
        return
    raise ValueError(
        f"`Checkpoint.{name}` must be a layer, model, optimizer, metric, variable, seed "
        f"generator, a list/dict of those, or a plain number or array. Received: "
        f"{name}={value!r} of type {type(value).__name__}.")


def graph_tensors(graph):
    """Every tensor a checkpoint of `graph` stores, the object graph entry included."""
    tensors = dict(graph.tensors)
    tensors[fmt.GRAPH_KEY] = torch.frombuffer(
        bytearray(json.dumps(graph.as_json(), separators=(",", ":")).encode("utf-8")),
        dtype=torch.uint8)
    return tensors


def _warn_dropped(graph):
    if graph.dropped_slots:
        warnings.warn(
            f"{len(graph.dropped_slots)} optimizer slot variables were not saved because the "
            "variables they belong to are not part of this checkpoint (for example "
            f"{graph.dropped_slots[0].name!r}). Include the model in the checkpoint to save "
            "them.", stacklevel=4)


def save_objects(root, prefix, writer=None, after=None, defer=False):
    """Writes the checkpoint of `root` at `prefix`; in the background if `writer` is given.

    `after()` runs once the files are complete (used to update the state file); `defer`
    lets the writer copy large tensors after returning (see `AsyncWriter.snapshot`).
    """
    prefix = os.fspath(prefix)
    directory = os.path.dirname(prefix)
    if not os.path.basename(prefix):
        raise ValueError(f"A checkpoint prefix must end in a file name, such as "
                         f"'ckpt/model'. Received: {prefix!r}")
    if os.path.isdir(prefix):
        raise IsADirectoryError(f"{prefix!r} is a folder; a checkpoint prefix names files "
                                f"('{prefix}/ckpt' would write into it).")
    if directory:
        os.makedirs(directory, exist_ok=True)
    graph = object_graph.Graph(root)
    _warn_dropped(graph)
    tensors = graph_tensors(graph)
    if writer is None:
        fmt.write(prefix, tensors)
        if after is not None:
            after()
        return prefix
    snapshot = writer.snapshot(tensors, defer=defer)

    def write_all():
        fmt.write(prefix, snapshot)
        if after is not None:
            after()

    writer.submit(write_all, description=f"checkpoint {prefix!r}")
    return prefix


def restore_objects(root, save_path, skip_mismatch=False):
    from kiln.checkpoint.reader import CheckpointReader

    reader = CheckpointReader(save_path)
    optional = ()
    if isinstance(root, Checkpoint):
        optional = ("save_counter" + object_graph.VARIABLE_SUFFIX,)
    restoration = status.Restoration(reader, root, skip_mismatch, optional).run()
    return status.CheckpointLoadStatus(restoration, root)


class Checkpoint:
    """Groups objects to save and restore together; keys come from the names given here.

    Args:
        root: Optional object whose children become this checkpoint's children.
        **kwargs: Named objects: layers, models, optimizers, metrics, variables, seed
            generators, lists/dicts of them, or plain numbers and arrays (restored as
            attributes of this checkpoint).

    Example:
        >>> ckpt = kiln.checkpoint.Checkpoint(model=model, optimizer=model.optimizer, step=0)
        >>> path = ckpt.save("ckpts/run")          # 'ckpts/run-1'
        >>> ckpt.restore(path).assert_consumed()
    """

    def __init__(self, root=None, **kwargs):
        object.__setattr__(self, "_kiln_children", {})
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_save_counter", None)
        object.__setattr__(self, "_writer", None)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def __setattr__(self, name, value):
        if not name.startswith("_"):
            _check_trackable(name, value)
            self._kiln_children[name] = True
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._kiln_children.pop(name, None)
        object.__delattr__(self, name)

    def _checkpoint_children(self):
        out = []
        if self._root is not None:
            out.extend(object_graph.children(self._root))
        for name in self._kiln_children:
            value = getattr(self, name)
            if isinstance(value, (bool, int, float, np.ndarray, torch.Tensor)) and not \
                    isinstance(value, Variable):
                out.append((name, PlainValue(self, name)))
            else:
                out.extend(object_graph._attribute_edges(name, value, False, 0))
        if self._save_counter is not None:
            out.append(("save_counter", self._save_counter))
        return out

    # -- the save counter -------------------------------------------------------------------
    def _counter(self):
        if self._save_counter is None:
            object.__setattr__(self, "_save_counter", Variable(
                torch.zeros((), dtype=torch.int64), trainable=False, name="save_counter"))
        return self._save_counter

    @property
    def save_counter(self):
        """How many times `save()` has run (an int64 variable, restored with the rest)."""
        return self._counter()

    # -- saving ------------------------------------------------------------------------------
    def _async(self, async_save):
        if not async_save:
            return None
        if self._writer is None:
            object.__setattr__(self, "_writer", async_writer.AsyncWriter())
        return self._writer

    def write(self, file_prefix, async_save=False):
        """Writes the checkpoint at exactly `file_prefix` (no counter, no state file).

        Example:
            >>> ckpt.write("exports/weights")
            'exports/weights'
        """
        self._wait_if_sync(async_save)
        return save_objects(self, file_prefix, self._async(async_save))

    def save(self, file_prefix, async_save=False):
        """Saves to `<file_prefix>-<n>` (n = the save counter) and records it as the latest
        checkpoint of its folder.

        With `async_save=True` the tensors are copied and the files are written in the
        background; the next save (or `sync()`) waits for it and raises its error if any.

        Example:
            >>> ckpt.save("ckpts/run")
            'ckpts/run-1'
        """
        self._wait_if_sync(async_save)
        counter = self._counter()
        counter.assign_add(1)
        prefix = f"{os.fspath(file_prefix)}-{int(counter.numpy())}"

        def record():
            state_file.record_latest(prefix, keep_others=True)

        return save_objects(self, prefix, self._async(async_save), after=record)

    def _wait_if_sync(self, async_save):
        if not async_save and self._writer is not None:
            self._writer.wait()

    def sync(self):
        """Waits for a background save to finish; raises its error if it failed."""
        if self._writer is not None:
            self._writer.wait()

    # -- restoring ---------------------------------------------------------------------------
    def restore(self, save_path):
        """Restores the objects from `save_path` (a prefix or a folder, or None).

        Values for objects that do not exist yet (layers not built, optimizer slots) are
        kept and assigned when those objects are built.

        Returns:
            A `CheckpointLoadStatus` with `assert_consumed()`,
            `assert_existing_objects_matched()` and `expect_partial()`.
        """
        if save_path is None:
            return status.InitializationOnlyStatus()
        self.sync()
        self._counter()
        return restore_objects(self, save_path)

    def read(self, save_path):
        """Like `restore()`, for checkpoints written by `write()`."""
        self.sync()
        return restore_objects(self, save_path)

    def __repr__(self):
        return f"<kiln.checkpoint.Checkpoint {list(self._kiln_children)}>"
