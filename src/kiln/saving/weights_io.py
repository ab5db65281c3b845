"""Moving a model's variables to and from a weight store, reporting every mismatch.

A store is addressed by object path (`weights_walk.walk`). Writers take
`put(path, tensors, name)`; readers offer `entries(path)` → `[(shape, dtype)]` or None,
`read_into(path, index, tensor)` and `read(path, index)` → numpy array, and `paths()`;
optionally `read_many([(path, index, tensor), ...])` to fill many tensors in one pass.
"""

import warnings

import numpy as np
import torch

from kiln.core import dtypes
from kiln.errors import WeightsMismatchError
from kiln.saving import weights_walk
from kiln.saving.h5_writer import _TORCH_NAMES


def save_state(model, writer, walked=None):
    """Writes every saveable's own variables under its path.

    `walked` may pass a `weights_walk.walk(model)` result the caller already has.
    """
    for path, obj in walked if walked is not None else weights_walk.walk(model):
        name = getattr(obj, "name", None)
        if _uses_default_hooks(obj):
            tensors = [v.value for v in weights_walk.own_variables(obj)]
        else:
            store = {}
            obj.save_own_variables(store)
            tensors = [store[k] for k in sorted(store, key=_index_key)]
        writer.put(path, tensors, name if isinstance(name, str) else None)


def _index_key(key):
    return (0, int(key)) if str(key).isdigit() else (1, str(key))


def _uses_default_hooks(obj):
    from kiln.layers.layer import Layer

    if isinstance(obj, Layer):
        cls = type(obj)
        return (cls.save_own_variables is Layer.save_own_variables
                and cls.load_own_variables is Layer.load_own_variables)
    return True


def _describe(shape, dtype):
    return f"{tuple(shape)} {dtype}"


def load_state(model, reader, skip_mismatch=False, source="file", load_optimizer=True,
               walked=None):
    """Loads every saveable reachable from `model`; raises one error listing all problems.

    With `skip_mismatch=True` the fitting variables load and the problems become a
    warning. Optimizer state whose variable count differs is skipped with a warning, as
    Keras does (the optimizer may not have been built when the file was written).
    `walked` may pass a `weights_walk.walk(model)` result the caller already has.
    """
    from kiln.layers.layer import Layer

    problems = []
    consumed = set()
    plan = []  # (variable, path, index) pairs to fill after all checks pass
    hooks = []  # objects with custom load hooks: (obj, path)
    for path, obj in walked if walked is not None else weights_walk.walk(model):
        is_layer = isinstance(obj, Layer)
        if not is_layer and not load_optimizer:
            consumed.add(path)
            continue
        entries = reader.entries(path)
        if entries is not None:
            consumed.add(path)
        if not _uses_default_hooks(obj):
            hooks.append((obj, path))
            continue
        variables = weights_walk.own_variables(obj)
        entries = entries or []
        shown = path or "(model)"
        if len(entries) != len(variables):
            if not is_layer:
                if entries and len(entries) <= 2 and len(entries) < len(variables) and all(
                    tuple(shape) == () == v.shape for v, (shape, _) in zip(variables, entries)
                ):
                    # Saved compiled but never trained: only `iteration` and `learning_rate`
                    # existed. Restore them; the freshly built slots are the right zeros.
                    plan.extend((v, path, i) for i, v in enumerate(variables[:len(entries)]))
                    continue
                if entries:
                    warnings.warn(
                        f"Skipping variable loading for optimizer '{getattr(obj, 'name', '')}', "
                        f"because it has {len(variables)} variables whereas the saved optimizer "
                        f"has {len(entries)} variables.", stacklevel=3)
                continue
            if not entries:
                problems.append(f"  {shown:<40} present in the model ({len(variables)} "
                                f"variables), missing from the {source}")
            else:
                problems.append(
                    f"  {shown:<40} expected {len(variables)} variables "
                    f"{[v.name for v in variables]}, found {len(entries)} in the {source}")
            continue
        for i, (v, (shape, dtype)) in enumerate(zip(variables, entries)):
            if tuple(shape) != v.shape:
                problems.append(f"  {shown}/vars/{i:<5} expected {_describe(v.shape, v.dtype)}, "
                                f"found {_describe(shape, dtype)}  ({v.path})")
            elif not _castable(dtype, v.dtype):
                problems.append(f"  {shown}/vars/{i:<5} expected dtype {v.dtype}, found {dtype}")
            else:
                plan.append((v, path, i))
    for path in reader.paths():
        if path in consumed:
            continue
        entries = reader.entries(path)
        if not entries:
            continue
        if path == "optimizer" or path.startswith("optimizer/"):
            continue  # an uncompiled model ignores saved optimizer state
        problems.append(f"  {path:<40} present in the {source} ({len(entries)} variables), "
                        "not used by the model")
    if problems and not skip_mismatch:
        raise WeightsMismatchError(
            f"Could not load weights into model '{model.name}' ({len(problems)} problems):\n"
            + "\n".join(problems)
            + "\nNothing was loaded. Build the model exactly as it was saved, or pass "
              "skip_mismatch=True to load the variables that fit.",
            problems)
    with torch.no_grad():
        read_many = getattr(reader, "read_many", None)
        if read_many is not None:
            read_many([(path, i, v.value.data) for v, path, i in plan])
        else:
            for v, path, i in plan:
                reader.read_into(path, i, v.value.data)
    for obj, path in hooks:
        entries = reader.entries(path) or []
        store = {str(i): reader.read(path, i) for i in range(len(entries))}
        try:
            obj.load_own_variables(store)
        except Exception as e:
            problems.append(f"  {path or '(model)':<40} {e}")
            if not skip_mismatch:
                raise WeightsMismatchError(
                    f"Could not load weights into model '{model.name}':\n" + "\n".join(problems),
                    problems) from e
    if problems:
        warnings.warn(
            f"Loaded weights into model '{model.name}' with {len(problems)} problems "
            "(skip_mismatch=True):\n" + "\n".join(problems), stacklevel=3)
    return problems


def _castable(stored, target):
    try:
        s, t = dtypes.standardize(stored), dtypes.standardize(target)
    except ValueError:
        return False
    if s == t:
        return True
    return dtypes.is_float(s) == dtypes.is_float(t) or (s.startswith("int") and t.startswith("int"))


class DictReader:
    """A reader over `{path: [arrays]}` (for in-memory transfers and tests)."""

    def __init__(self, data):
        self._data = {p: [np.asarray(a) for a in arrays] for p, arrays in data.items()}

    def paths(self):
        return list(self._data)

    def entries(self, path):
        arrays = self._data.get(path)
        if arrays is None:
            return None
        return [(a.shape, a.dtype.name) for a in arrays]

    def read(self, path, index):
        return self._data[path][index]

    def read_into(self, path, index, tensor):
        tensor.copy_(torch.from_numpy(np.ascontiguousarray(self._data[path][index])))


class DictWriter:
    def __init__(self):
        self.data = {}
        self.names = {}

    def put(self, path, tensors, name=None):
        self.data[path] = [t.detach().cpu().numpy().copy() if isinstance(t, torch.Tensor)
                           else np.asarray(t) for t in tensors]
        self.names[path] = name


class H5Adapter:
    """Presents an `h5_store.H5Reader` (or sharded reader) with the reader interface above."""

    def __init__(self, reader):
        self._reader = reader
        self._specs = {}

    def paths(self):
        return list(self._reader.keys())

    def entries(self, path):
        if path not in self._specs:
            self._specs[path] = self._reader.specs(path) if path in self._reader else None
        return self._specs[path]

    def read(self, path, index):
        return self._reader.get(path)[index]

    def _same_dtype(self, path, index, tensor):
        stored = self.entries(path)[index][1]
        return (_TORCH_NAMES.get(tensor.dtype) == stored
                or dtypes.standardize(stored) == dtypes.standardize(tensor.dtype))

    def read_into(self, path, index, tensor):
        if self._same_dtype(path, index, tensor):
            self._reader.read_into(path, index, tensor)
        else:
            tensor.copy_(self._reader.get(path, as_torch=True)[index])

    def read_many(self, items):
        """Fills `[(path, index, tensor)]`: same-dtype variables in one batched pass
        (`read_batch`), the others converted one by one."""
        direct = [item for item in items if self._same_dtype(*item)]
        if len(direct) < len(items):
            for path, index, tensor in items:
                if not self._same_dtype(path, index, tensor):
                    tensor.copy_(self._reader.get(path, as_torch=True)[index])
        self._reader.read_batch(direct)
