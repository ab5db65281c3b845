"""Object-graph checkpoints (`kiln.checkpoint`): TensorFlow-style training checkpoints.

A checkpoint is `<prefix>.index` plus `<prefix>.data-00000-of-00001` (a safetensors
file), and a `checkpoint` state file in the folder naming the latest prefix. Variables
are stored under object-graph paths such as `layer_with_weights-0/kernel`, so any model
with the same structure can restore them. The format is docs/formats/checkpoint.md.

Example:
    >>> ckpt = kiln.checkpoint.Checkpoint(model=model, optimizer=model.optimizer)
    >>> manager = kiln.checkpoint.CheckpointManager(ckpt, "ckpts", max_to_keep=3)
    >>> manager.save()
    >>> ckpt.restore(kiln.checkpoint.latest_checkpoint("ckpts"))
"""

from kiln.checkpoint.checkpoint import Checkpoint
from kiln.checkpoint.manager import CheckpointManager
from kiln.checkpoint.reader import CheckpointReader, list_variables, load_checkpoint
from kiln.checkpoint.state_file import latest_checkpoint
from kiln.checkpoint.status import CheckpointLoadStatus

__all__ = [
    "Checkpoint",
    "CheckpointLoadStatus",
    "CheckpointManager",
    "CheckpointReader",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
]
