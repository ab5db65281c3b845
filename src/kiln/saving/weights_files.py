"""Weights-only files: Keras 3 `.weights.h5` (optionally sharded) and safetensors."""

import os
import warnings

import torch

from kiln.errors import WeightsMismatchError
from kiln.saving import weights_io


def save_weights_h5(model, path, max_shard_size=None):
    """Writes `model`'s variables in Keras 3's `.weights.h5` layout (sharded if asked)."""
    from kiln.saving import h5_sharded, h5_store

    if max_shard_size is not None:
        if path.endswith(".weights.h5"):
            new = path[: -len(".weights.h5")] + ".weights.json"
            warnings.warn(f"Sharded weights are indexed by a `.weights.json` file; saving to "
                          f"{new!r} instead of {path!r}.", stacklevel=3)
            path = new
        writer = h5_sharded.ShardedH5Writer(path, max_shard_size)
    else:
        if path.endswith(".weights.json"):
            raise ValueError(
                f"{path!r} names a sharded weights index; pass `max_shard_size` (in GiB) to "
                "write shards, or use a `.weights.h5` name."
            )
        writer = h5_store.H5Writer(path)
    with writer:
        weights_io.save_state(model, writer)
    return path


def load_weights_h5(model, path, skip_mismatch=False):
    from kiln.saving import h5_sharded, h5_store

    if path.endswith(".json"):
        reader = h5_sharded.ShardedH5Reader(path)
    else:
        reader = h5_store.H5Reader(path)
    with reader:
        _ensure_optimizer_built(model, reader)
        return weights_io.load_state(model, weights_io.H5Adapter(reader), skip_mismatch,
                                     source=f"file {os.path.basename(path)!r}")


def _ensure_optimizer_built(model, reader):
    """Builds a compiled model's optimizer so saved optimizer state has somewhere to go."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or getattr(optimizer, "built", True):
        return
    if "optimizer" in reader.keys() and model.built:
        optimizer.build(model.trainable_variables)


def save_safetensors(model, path, max_shard_size=None):
    """Writes the model's `state_dict()` as safetensors (keys = state_dict names)."""
    from kiln.saving import safetensors_store

    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": "pt", "producer": "kiln"}
    safetensors_store.save_safetensors(path, tensors, metadata=metadata,
                                       max_shard_size=max_shard_size)
    return path


def load_safetensors(model, path, skip_mismatch=False):
    """Loads safetensors written by `save_safetensors`, listing every mismatch."""
    from kiln.saving import safetensors_store

    tensors = safetensors_store.load_safetensors(path)
    state = model.state_dict()
    problems = []
    for key, target in state.items():
        if key not in tensors:
            problems.append(f"  {key:<40} present in the model, missing from the file")
        elif tuple(tensors[key].shape) != tuple(target.shape):
            problems.append(f"  {key:<40} expected {tuple(target.shape)} {target.dtype}, "
                            f"found {tuple(tensors[key].shape)} {tensors[key].dtype}")
    for key in tensors:
        if key not in state:
            problems.append(f"  {key:<40} present in the file, not used by the model")
    if problems and not skip_mismatch:
        raise WeightsMismatchError(
            f"Could not load weights into model '{model.name}' ({len(problems)} problems):\n"
            + "\n".join(problems) + "\nNothing was loaded.", problems)
    fitting = {k: v for k, v in tensors.items()
               if k in state and tuple(v.shape) == tuple(state[k].shape)}
    with torch.no_grad():
        for key, value in fitting.items():
            state[key].copy_(value)
    if problems:
        warnings.warn(f"Loaded weights into model '{model.name}' with {len(problems)} "
                      "problems (skip_mismatch=True):\n" + "\n".join(problems), stacklevel=3)
    return problems
