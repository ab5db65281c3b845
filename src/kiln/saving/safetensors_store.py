"""Flat `name -> tensor` files in the safetensors format, optionally sharded HF-style.

A single file is `model.safetensors`. When `max_shard_size` splits the tensors, the shards
are `model-00001-of-00003.safetensors`, ... next to an index `model.safetensors.index.json`:

    {"metadata": {"total_size": <int bytes>}, "weight_map": {"<tensor name>": "<shard file>"}}

which is the layout Hugging Face tools read. The `safetensors` package bounds-checks
every header; this module adds atomic writes and refuses shard names that would leave the
index's directory.
"""

import json
import os
import re

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from kiln.errors import FileFormatError
from kiln.saving.atomic import atomic_write
from kiln.saving.h5_sharded import check_shard_name
from kiln.saving.json_utils import CONFIG_MAX_BYTES, load_untrusted_json

__all__ = ["save_safetensors", "load_safetensors", "parse_size"]

_INDEX_SUFFIX = ".index.json"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(size):
    """`5_000_000` -> 5000000; `"5GB"` -> 5 * 10**9; `"2GiB"` -> 2 * 2**30."""
    if isinstance(size, int) and size > 0:
        return size
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)\s*", str(size).upper())
    if not match or float(match.group(1)) <= 0 or match.group(2) not in _UNITS:
        raise ValueError(f"max_shard_size must be a positive byte count or a string such as "
                         f"'5GB' or '500MiB'. Received: {size!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _prepare(tensors, metadata):
    if not isinstance(tensors, dict) or not all(isinstance(k, str) for k in tensors):
        raise TypeError("save_safetensors expects a dict mapping str names to torch tensors.")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"safetensors metadata must be a dict of str to str. Received: {metadata!r}")
    ready = {}
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"Tensor {name!r} is a {type(tensor).__name__}, expected torch.Tensor.")
        tensor = tensor.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        ready[name] = tensor.contiguous()
    return ready


def _shard_groups(tensors, limit):
    shards, current, size = [], {}, 0
    for name, tensor in tensors.items():
        nbytes = tensor.numel() * tensor.element_size()
        if current and size + nbytes > limit:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensor
        size += nbytes
    shards.append(current)
    return shards


def save_safetensors(path, tensors, metadata=None, max_shard_size=None):
    """Saves `tensors` to `path` atomically, sharding when they exceed `max_shard_size`.

    Args:
        path: Target file, e.g. `"out/model.safetensors"`.
        tensors: `dict[str, torch.Tensor]`; tensors must not share memory (safetensors
            rule); non-contiguous or non-CPU tensors are made contiguous CPU copies.
        metadata: Optional `dict[str, str]` stored in every file's header.
        max_shard_size: Bytes (int) or a string like `"5GB"`. If the tensors fit, a single
            file is written as if it were None. A tensor larger than the limit gets a shard
            of its own.

    Returns:
        The path to load from: `path` itself, or the index `path + ".index.json"`.

    Example:
        >>> save_safetensors("model.safetensors", {"dense.kernel": torch.zeros(4, 3)})
        'model.safetensors'
    """
    path = os.fspath(path)
    tensors = _prepare(tensors, metadata)
    groups = [tensors]
    if max_shard_size is not None:
        groups = _shard_groups(tensors, parse_size(max_shard_size))
    try:
        if len(groups) == 1:
            with atomic_write(path) as f:
                save_file(groups[0], f.name, metadata=metadata)
            return path
        directory, filename = os.path.split(path)
        stem = filename[: -len(".safetensors")] if filename.endswith(".safetensors") else filename
        names = [f"{stem}-{i:05d}-of-{len(groups):05d}.safetensors" for i in range(1, len(groups) + 1)]
        pending = []
        try:
            for name, group in zip(names, groups):
                atomic = atomic_write(os.path.join(directory, name))
                tmp = atomic.__enter__()
                pending.append(atomic)
                save_file(group, tmp.name, metadata=metadata)
        except BaseException as err:
            for atomic in pending:
                try:
                    atomic.__exit__(type(err), err, err.__traceback__)
                except BaseException:
                    pass
            raise
        for atomic in pending:
            atomic.__exit__(None, None, None)
    except SafetensorError as err:
        raise ValueError(f"safetensors could not save {path}: {err}") from None
    index = {
        "metadata": {"total_size": sum(t.numel() * t.element_size() for t in tensors.values())},
        "weight_map": {name: names[i] for i, group in enumerate(groups) for name in group},
    }
    index_path = path + _INDEX_SUFFIX
    with atomic_write(index_path) as f:
        f.write(json.dumps(index, indent=2).encode("utf-8"))
    return index_path


def _load_one(path, what):
    try:
        return load_file(path)
    except SafetensorError as err:
        raise FileFormatError(f"{what} is not a valid safetensors file: {err}. The file is "
                              "damaged or in another format.") from None


def load_safetensors(path):
    """Loads a safetensors file, or a sharded set through its `.index.json`.

    `path` may be the file, the index, or the base name whose `<path>.index.json` exists.
    Tensors are memory-mapped by the safetensors package (no extra copy).

    Raises:
        kiln.errors.FileFormatError: for damaged files or an inconsistent index.
        kiln.errors.UnsafeFileError: if the index names a shard outside its directory.

    Example:
        >>> tensors = load_safetensors("model.safetensors")
    """
    path = os.fspath(path)
    if not path.endswith(_INDEX_SUFFIX):
        if os.path.isfile(path) or not os.path.isfile(path + _INDEX_SUFFIX):
            if not os.path.exists(path):
                raise FileNotFoundError(f"No safetensors file at {path!r} (nor an index "
                                        f"{path + _INDEX_SUFFIX!r}).")
            return _load_one(path, path)
        path += _INDEX_SUFFIX
    what = f"safetensors index {path}"
    with open(path, "rb") as f:
        index = load_untrusted_json(f.read(CONFIG_MAX_BYTES + 1), what)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise FileFormatError(f"{what} needs a 'weight_map' object mapping tensor names to "
                              "shard file names.")
    shards = {}
    for shard in weight_map.values():
        shards.setdefault(check_shard_name(shard, what), [])
    directory = os.path.dirname(path)
    for name, shard in weight_map.items():
        shards[shard].append(name)
    result = {}
    for shard, names in shards.items():
        shard_path = os.path.join(directory, shard)
        if not os.path.isfile(shard_path):
            raise FileFormatError(f"Shard {shard!r} listed in {what} does not exist.")
        loaded = _load_one(shard_path, f"shard {shard_path}")
        missing = [n for n in names if n not in loaded]
        if missing:
            raise FileFormatError(f"{what} places tensors {missing[:5]} in {shard!r}, but that "
                                  "shard does not contain them.")
        for name in names:
            result[name] = loaded[name]
    return result
