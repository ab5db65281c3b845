"""Sharded `.weights.h5` stores: a JSON index plus `<base>_00000.weights.h5`, ... (§1.4).

The index (written with `indent=4`, like Keras):

    {"metadata": {"total_size": <float bytes>},
     "weight_map": {"/layers/dense/vars": "model_00000.weights.h5",
                    "/optimizer/vars": ["model_00000.weights.h5", "model_00001.weights.h5"]}}

A value is a string when the group holds exactly one variable, else the list of shards
holding its datasets. Each shard is an ordinary weights file holding some of the datasets,
under their original group paths and indices. Shard names in an index are untrusted: only
plain file names in the index's own directory are accepted.
"""

import json
import os
import pathlib

import torch

from kiln.errors import FileFormatError, UnsafeFileError, WeightsMismatchError
from kiln.saving.atomic import atomic_write
from kiln.saving.h5_store import _TORCH_DTYPES, H5Reader, H5Writer, to_storable, vars_group
from kiln.saving.json_utils import CONFIG_MAX_BYTES, load_untrusted_json

__all__ = ["ShardedH5Writer", "ShardedH5Reader", "shard_file_name", "check_shard_name"]


def _base_name(json_path):
    path = pathlib.Path(json_path)
    if path.suffix != ".json":
        raise ValueError(f"A sharded weights index must end in `.json` (Keras uses "
                         f"`<name>.weights.json`). Received: json_path={os.fspath(json_path)!r}")
    return path.stem.replace(".weights", "")


def shard_file_name(json_path, index):
    """`"d/model.weights.json", 1` -> `"model_00001.weights.h5"` (Keras's naming)."""
    return f"{_base_name(json_path)}_{index:05d}.weights.h5"


def check_shard_name(name, what):
    """Refuses any shard name that is not a plain file name in the index's directory."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name
            or "\\" in name or "\0" in name or ":" in name or os.path.isabs(name)):
        raise UnsafeFileError(
            f"Refusing to read {what}: shard name {name!r} is not a plain file name. Shards "
            "must sit next to the index file; names with directories, '..' or absolute paths "
            "are not allowed."
        )
    return name


class ShardedH5Writer:
    """Writes weights split into shards of at most `max_shard_size_gib` GiB each.

    A new shard starts when the next variable would push the current one over the limit; a
    variable is never split, and one larger than the limit is an error. Nothing is
    published until `close()`: then every shard is renamed into place and the index is
    written last. On failure (or `abort()`) all new files are discarded.

    Example:
        >>> with ShardedH5Writer("ckpt/model.weights.json", max_shard_size_gib=2.0) as w:
        ...     w.put("layers/dense", [kernel, bias], name="d1")
    """

    def __init__(self, json_path, max_shard_size_gib):
        self.json_path = pathlib.Path(json_path)
        _base_name(self.json_path)
        self.max_bytes = float(max_shard_size_gib) * 1024**3
        if not self.max_bytes > 0:
            raise ValueError(f"max_shard_size_gib must be positive. Received: {max_shard_size_gib}")
        self._pending = []  # atomic_write contexts of finished shards, committed in close()
        self._writer = None
        self._shard_index = -1
        self._current_size = 0.0
        self.total_size = 0.0
        self.weight_map = {}
        self._open_next_shard()

    def _open_next_shard(self):
        if self._writer is not None:
            self._writer.close()
        self._shard_index += 1
        name = shard_file_name(self.json_path, self._shard_index)
        atomic = atomic_write(self.json_path.with_name(name))
        self._pending.append(atomic)
        self._writer = H5Writer(atomic.__enter__())
        self._shard_name = name
        self._current_size = 0.0

    def put(self, path, arrays, name=None):
        """Stores `arrays` under `<path>/vars` ("0", "1", ...), spreading them over shards."""
        group_key = "/" + vars_group(path)
        group = self._writer.ensure_group(path, name)
        for index, value in enumerate(arrays):
            array, is_bf16 = to_storable(value)
            size = float(array.nbytes)
            if size > self.max_bytes:
                raise ValueError(
                    f"The size of {group_key}/{index} is {size:.0f} bytes, which exceeds the "
                    f"maximum shard size of {self.max_bytes:.0f} bytes. Increase "
                    "`max_shard_size` so every single variable fits in one shard."
                )
            self.total_size += size
            self._current_size += size
            if self._current_size > self.max_bytes:
                self._open_next_shard()
                self._current_size = size
                group = self._writer.ensure_group(path)
            self._writer.write_array(group, index, array, is_bf16)
            entry = self.weight_map.get(group_key)
            if entry is None:
                self.weight_map[group_key] = self._shard_name
            else:
                entry = [entry] if isinstance(entry, str) else entry
                if self._shard_name not in entry:
                    entry.append(self._shard_name)
                self.weight_map[group_key] = entry

    def close(self):
        """Publishes the shards, then the index. Returns the list of shard paths."""
        if self._writer is None:
            return None
        try:
            self._writer.close()
            self._writer = None
            for atomic in self._pending:
                atomic.__exit__(None, None, None)
        except BaseException as err:
            self._writer = None
            self._discard(err)
            raise
        pending, self._pending = self._pending, []
        index = {"metadata": {"total_size": self.total_size}, "weight_map": self.weight_map}
        with atomic_write(self.json_path) as f:
            f.write(json.dumps(index, indent=4).encode("utf-8"))
        return [self.json_path.with_name(shard_file_name(self.json_path, i))
                for i in range(len(pending))]

    def _discard(self, err):
        pending, self._pending = self._pending, []
        for atomic in pending:
            try:
                atomic.__exit__(type(err), err, err.__traceback__)
            except BaseException:
                pass

    def abort(self):
        """Discards every shard written so far; existing files stay untouched."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        self._discard(RuntimeError("aborted"))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def _index_key_to_path(key, what):
    """`"/layers/dense/vars"` -> `"layers/dense"`, `"/vars"` -> `""`; refuses anything else."""
    if key == "/vars":
        return ""
    if isinstance(key, str) and key.startswith("/") and key.endswith("/vars"):
        path = key[1:-len("/vars")]
        try:
            vars_group(path)
            return path
        except ValueError:
            pass
    raise FileFormatError(f"{what}: weight_map key {key!r} is not a '/<path>/vars' group name.")


class ShardedH5Reader:
    """Reads weights written by `ShardedH5Writer` or by Keras's `max_shard_size` option.

    Shards are opened (and validated) lazily, the first time one of their groups is read.

    Example:
        >>> with ShardedH5Reader("ckpt/model.weights.json") as r:
        ...     kernel, bias = r.get("layers/dense")
    """

    def __init__(self, json_path, max_index_bytes=CONFIG_MAX_BYTES):
        self.json_path = pathlib.Path(json_path)
        self.what = f"sharded weights index {os.fspath(json_path)}"
        with open(self.json_path, "rb") as f:
            data = f.read(max_index_bytes + 1)
        index = load_untrusted_json(data, self.what, max_bytes=max_index_bytes)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict):
            raise FileFormatError(f"{self.what} has no 'weight_map' object; it is not a Keras "
                                  "sharded weights index.")
        self._map = {}
        for key, value in weight_map.items():
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names:
                raise FileFormatError(f"{self.what}: weight_map[{key!r}] must be a shard name or "
                                      f"a non-empty list of them. Received: {value!r}")
            self._map[_index_key_to_path(key, self.what)] = [
                check_shard_name(n, self.what) for n in names]
        metadata = index.get("metadata", {})
        self.total_size = metadata.get("total_size") if isinstance(metadata, dict) else None
        self._readers = {}
        self._found = {}

    def keys(self):
        """Store paths listed in the index (groups holding at least one variable)."""
        return set(self._map)

    def __contains__(self, path):
        return path in self._map

    def _reader(self, name):
        if name not in self._readers:
            shard = self.json_path.with_name(name)
            if not shard.is_file():
                raise FileFormatError(f"Shard '{name}' listed in {self.what} does not exist. "
                                      "Copy every shard file next to the index.")
            self._readers[name] = H5Reader(shard, what=f"shard {shard}")
        return self._readers[name]

    def _datasets(self, path):
        """`{index: (reader, DatasetInfo)}` across all shards listed for `path`, or None."""
        if path not in self._map:
            return None
        if path in self._found:
            return self._found[path]
        found = {}
        for name in self._map[path]:
            reader = self._reader(name)
            for index, info in (reader.variables(path) or {}).items():
                if index in found:
                    raise FileFormatError(f"{self.what}: variable {vars_group(path)}/{index} "
                                          "appears in more than one shard.")
                found[index] = (reader, info)
        if sorted(found) != list(range(len(found))):
            raise FileFormatError(f"{self.what}: the shards hold variables {sorted(found)} of "
                                  f"'{vars_group(path)}'; expected 0..{len(found) - 1}.")
        self._found[path] = found
        return found

    def group_name(self, path):
        """The `name` attribute stored with `path`'s group in the first shard, or None."""
        return self._reader(self._map[path][0]).group_name(path) if path in self._map else None

    def specs(self, path):
        found = self._datasets(path)
        if found is None:
            return None
        return [(found[i][1].shape, found[i][1].dtype) for i in range(len(found))]

    def get(self, path, as_torch=False):
        """Like `H5Reader.get`: the variables of `path` in index order, or None."""
        found = self._datasets(path)
        if found is None:
            return None
        values = []
        for index in range(len(found)):
            reader, info = found[index]
            out = torch.empty(info.shape, dtype=_TORCH_DTYPES[info.dtype])
            reader.read_into(path, index, out)
            values.append(out if (as_torch or info.dtype == "bfloat16") else out.numpy())
        return values

    def read_into(self, path, index, out):
        """Like `H5Reader.read_into`, looking the variable up in whichever shard holds it."""
        found = self._datasets(path)
        where = f"{vars_group(path)}/{index}"
        if found is None or index not in found:
            raise WeightsMismatchError(f"{self.what} has no variable '{where}'.",
                                       [f"{where}  missing from the file"])
        found[index][0].read_into(path, index, out)

    def read_batch(self, items):
        """Like `H5Reader.read_batch`: `[(path, index, out)]`, each read from its shard."""
        by_shard = {}
        for path, index, out in items:
            found = self._datasets(path)
            if found is None or index not in found:
                self.read_into(path, index, out)  # raises the missing-variable error
            by_shard.setdefault(id(found[index][0]), (found[index][0], []))[1].append(
                (path, index, out))
        for reader, batch in by_shard.values():
            reader.read_batch(batch)

    def close(self):
        self._found = {}
        readers, self._readers = self._readers, {}
        for reader in readers.values():
            reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

