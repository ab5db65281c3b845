"""`model.save_weights("ckpt")` / `model.load_weights("ckpt")` for checkpoint-format paths.

kiln.saving.saving_api sends paths without an extension, or ending in `.ckpt`, here. The
model itself is the root of the object graph, so keys read `layer_with_weights-0/kernel`
(Sequential/functional) or `dense/kernel` (subclassed), and a compiled model's optimizer
is saved under `optimizer/...` with its slots next to the variables they belong to.
"""

import os

from kiln.checkpoint import state_file
from kiln.checkpoint.checkpoint import restore_objects, save_objects


def save_weights(model, filepath, writer=None, defer=False):
    """Writes `<filepath>.index` and `<filepath>.data-00000-of-00001`, then makes
    `filepath` the latest checkpoint in the folder's `checkpoint` state file.

    Args:
        model: The model to save.
        filepath: The checkpoint prefix, e.g. `"training_1/cp.ckpt"`.
        writer: An `AsyncWriter` to write in the background (ModelCheckpoint's
            `async_save=True`); None writes before returning.
        defer: With a writer, copy large tensors after returning (see
            `AsyncWriter.snapshot`).

    Example:
        >>> model.save_weights("training_1/cp.ckpt")   # routed here by kiln.saving
    """
    prefix = os.fspath(filepath)

    def record():
        state_file.record_latest(prefix)

    return save_objects(model, prefix, writer, after=record, defer=defer)


def load_weights(model, filepath, skip_mismatch=False):
    """Restores a checkpoint written by `save_weights` (or `Checkpoint.save`) into `model`.

    Values are matched by object-graph path, so a model built again with the same
    structure restores, and layers not built yet receive their values when they are built.
    Variables whose shapes differ raise `kiln.errors.WeightsMismatchError` listing all of
    them (nothing is loaded), unless `skip_mismatch=True`.

    Returns:
        A `CheckpointLoadStatus` (`assert_consumed()`, `expect_partial()`, ...).

    Example:
        >>> model.load_weights("training_1/cp.ckpt").assert_existing_objects_matched()
    """
    return restore_objects(model, filepath, skip_mismatch=skip_mismatch)
