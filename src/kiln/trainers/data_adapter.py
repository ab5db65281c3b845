"""Batches for `fit()`, `evaluate()` and `predict()` from arrays, generators or torch data.

In-memory data (numpy arrays, torch tensors, lists/dicts of them) is converted to torch
once per call; each epoch then draws one `torch.randperm` permutation (so shuffling
follows `torch.manual_seed` / `kiln.utils.set_random_seed`) and batches are gathered by
index. Python generators and torch `DataLoader`s / `Dataset`s yield batches that are
converted one at a time.
"""

import math
import warnings

import numpy as np
import torch

from kiln.core import dtypes
from kiln.core.tensor import to_tensor


# -- structures --------------------------------------------------------------------------
def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(data)} elements: {_describe(data)}"
    )


def flatten(structure):
    """`(leaves, spec)`; `pack(spec, leaves)` rebuilds the structure."""
    if isinstance(structure, dict):
        leaves, specs = [], []
        for value in structure.values():
            sub_leaves, sub_spec = flatten(value)
            specs.append((len(sub_leaves), sub_spec))
            leaves.extend(sub_leaves)
        return leaves, ("dict", list(structure), specs)
    if isinstance(structure, (list, tuple)) and not _is_array_like_list(structure):
        leaves, specs = [], []
        for value in structure:
            sub_leaves, sub_spec = flatten(value)
            specs.append((len(sub_leaves), sub_spec))
            leaves.extend(sub_leaves)
        return leaves, (type(structure).__name__, None, specs)
    if structure is None:
        return [], None
    return [structure], "leaf"


def pack(spec, leaves):
    if spec is None:
        return None
    if spec == "leaf":
        return leaves[0]
    kind, keys, specs = spec
    items, start = [], 0
    for count, sub in specs:
        items.append(pack(sub, leaves[start:start + count]))
        start += count
    if kind == "dict":
        return dict(zip(keys, items))
    return tuple(items) if kind == "tuple" else items


def _is_array_like_list(x):
    # A plain list of numbers is one array, not a list of inputs.
    return bool(x) and all(isinstance(v, (int, float, bool, np.number)) for v in x)


def _describe(structure):
    leaves, _ = flatten(structure)
    return [f"{type(v).__name__}{tuple(getattr(v, 'shape', ()))}" for v in leaves]


def convert(value, float_dtype=None, device=None):
    """A torch tensor for one array-like leaf (numpy float64 becomes float32)."""
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if not isinstance(value, torch.Tensor):
        if hasattr(value, "to_numpy"):  # pandas
            value = value.to_numpy()
        if not isinstance(value, np.ndarray) and hasattr(value, "__array__"):
            value = np.asarray(value)
        value = to_tensor(value)
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                "Unrecognized data type: expected numpy arrays, torch tensors, lists or dicts "
                f"of them, a generator or a torch DataLoader. Received: {type(value).__name__}"
            )
    if float_dtype is not None and not value.is_floating_point() and not value.is_complex():
        value = value.to(float_dtype)
    if device is not None and value.device != device:
        value = value.to(device)
    return value


def input_float_dtypes(model, x_leaves):
    """Per-leaf float dtype to cast integer inputs to (the model's Input dtypes), or None."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != len(x_leaves):
        return [None] * len(x_leaves)
    out = []
    for spec in inputs:
        dtype = getattr(spec, "dtype", None)
        out.append(dtypes.to_torch(dtype) if dtype and dtypes.is_float(dtype) else None)
    return out


# -- what kind of data --------------------------------------------------------------------
def is_iterable_source(x):
    """True for generators, iterators and torch `DataLoader`/`Dataset` objects."""
    if isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict)) or x is None:
        return False
    from torch.utils.data import DataLoader, Dataset, IterableDataset

    if isinstance(x, (DataLoader, Dataset, IterableDataset)):
        return True
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "shape"))


def make_iterator(x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None,
                  shuffle=False, class_weight=None, model=None, device=None):
    """An `ArrayIterator` or `IterableIterator` for the given data."""
    if is_iterable_source(x):
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(
                    f"When `x` is a generator or a torch DataLoader/Dataset, `{name}` must not "
                    f"be given: yield `(x, y)` or `(x, y, sample_weight)` batches instead. "
                    f"Received {name} of type {type(value).__name__}."
                )
        if class_weight is not None:
            raise ValueError(
                "`class_weight` is only supported with array or tensor data; for a generator "
                "or DataLoader, yield sample weights as the third element of each batch."
            )
        return IterableIterator(x, batch_size, steps_per_epoch, shuffle, model, device)
    return ArrayIterator(x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                         class_weight, model, device)


# -- in-memory data -----------------------------------------------------------------------
class ArrayIterator:
    """Batches of in-memory data, converted to torch once."""

    def __init__(self, x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                 class_weight, model, device):
        if x is None:
            raise ValueError("No input data: pass `x` (arrays, tensors, a generator or a "
                             "DataLoader).")
        x_leaves, self._x_spec = flatten(x)
        floats = input_float_dtypes(model, x_leaves)
        x_leaves = [convert(v, f, device) for v, f in zip(x_leaves, floats)]
        y_leaves, self._y_spec = flatten(y)
        y_leaves = [convert(v, None, device) for v in y_leaves]
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(
                    "Arguments `sample_weight` and `class_weight` cannot be specified at the "
                    "same time. Give one of them."
                )
            sample_weight = class_weight_to_sample_weight(y_leaves, class_weight)
        sw_leaves, self._sw_spec = flatten(sample_weight)
        sw_leaves = [convert(v, torch.float32, device) for v in sw_leaves]
        self._check_cardinality(x_leaves, y_leaves, sw_leaves)
        self._leaves = x_leaves + y_leaves + sw_leaves
        self._nx, self._ny = len(x_leaves), len(y_leaves)
        self.num_samples = int(x_leaves[0].shape[0]) if x_leaves else 0
        self.batch_size = batch_size or 32
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch'. Received: {shuffle!r}")
        self.shuffle = shuffle
        self._batches_per_pass = max(math.ceil(self.num_samples / self.batch_size), 0)
        self.steps_per_epoch = steps_per_epoch
        self.num_batches = steps_per_epoch or self._batches_per_pass
        self._pass = None
        self.simple = self._nx == 1 and self._ny <= 1 and not sw_leaves \
            and self._x_spec == "leaf" and self._y_spec in ("leaf", None)

    def _check_cardinality(self, x, y, sw):
        sizes = {}
        for what, leaves in (("x", x), ("y", y), ("sample_weight", sw)):
            for t in leaves:
                if t.dim() == 0:
                    raise ValueError(
                        f"`{what}` holds a scalar; every array needs a leading sample axis. "
                        f"Received a 0-d value. Reshape it to (num_samples, ...)."
                    )
                sizes.setdefault(what, []).append(int(t.shape[0]))
        distinct = {s for values in sizes.values() for s in values}
        if len(distinct) > 1:
            listed = ", ".join(f"{what} sizes: {values}" for what, values in sizes.items())
            raise ValueError(
                "Data cardinality is ambiguous: all arrays must contain the same number of "
                f"samples, but received {listed}. Make sure x, y (and sample_weight) have "
                "the same first dimension."
            )

    def _new_pass(self):
        n, bs = self.num_samples, self.batch_size
        if self.shuffle is True:
            order = torch.randperm(n, device=self._leaves[0].device) if n else None
            for start in range(0, n, bs):
                yield order[start:start + bs]
        elif self.shuffle == "batch":
            for b in torch.randperm(self._batches_per_pass).tolist():
                yield slice(b * bs, min((b + 1) * bs, n))
        else:
            for start in range(0, n, bs):
                yield slice(start, min(start + bs, n))

    def _indices(self):
        """Index objects for one epoch (continuing across epochs with `steps_per_epoch`)."""
        if self.steps_per_epoch is None:
            return self._new_pass()
        return self._continued_indices()

    def _continued_indices(self):
        for _ in range(self.steps_per_epoch):
            index = next(self._pass, None) if self._pass is not None else None
            if index is None:
                self._pass = self._new_pass()
                index = next(self._pass, None)
                if index is None:
                    return
            yield index

    def _take(self, index):
        if isinstance(index, slice):
            return [t[index] for t in self._leaves]
        return [t.index_select(0, index) for t in self._leaves]

    def __iter__(self):
        """Yields `(x, y, sample_weight)` batches for one epoch."""
        nx, ny = self._nx, self._ny
        if self.simple:
            x, y = self._leaves[0], self._leaves[1] if ny else None
            for index in self._indices():
                if isinstance(index, slice):
                    yield x[index], (y[index] if y is not None else None), None
                else:
                    yield (x.index_select(0, index),
                           y.index_select(0, index) if y is not None else None, None)
            return
        for index in self._indices():
            leaves = self._take(index)
            yield (pack(self._x_spec, leaves[:nx]), pack(self._y_spec, leaves[nx:nx + ny]),
                   pack(self._sw_spec, leaves[nx + ny:]))


def class_weight_to_sample_weight(y_leaves, class_weight):
    """Per-sample weights `class_weight[label]` (1.0 for classes not listed)."""
    if len(y_leaves) != 1:
        raise ValueError(
            "`class_weight` is only supported for models with a single output; use "
            "`sample_weight` with one array per output instead."
        )
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(
            "`class_weight` must be a non-empty dict mapping class indices to weights. "
            f"Received: {class_weight!r}"
        )
    y = y_leaves[0]
    if y.dim() > 1 and y.shape[-1] != 1:
        labels = torch.argmax(y, dim=-1)
    else:
        labels = y.reshape(y.shape[0]) if y.dim() > 1 else y
    labels = labels.long()
    size = max(int(labels.max()) + 1 if labels.numel() else 0, max(class_weight) + 1)
    table = torch.ones(size, dtype=torch.float32)
    for cls, weight in class_weight.items():
        table[int(cls)] = float(weight)
    return table[labels.cpu()]


def train_validation_split(data, validation_split):
    """Splits in-memory `(x, y, sample_weight)` into training and validation parts (the last
    `validation_split` fraction of samples, before any shuffling)."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(
            f"`validation_split` must be between 0 and 1. Received: {validation_split}"
        )
    leaves, spec = flatten(data)
    if any(is_iterable_source(v) for v in leaves):
        raise ValueError(
            "`validation_split` is only supported for tensors or numpy arrays. For a "
            "generator or DataLoader, pass `validation_data` instead."
        )
    leaves = [convert(v) for v in leaves]
    n = int(leaves[0].shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into "
            f"a validation and training set as specified by `validation_split={validation_split}`."
            " Either provide more data, or a different value for `validation_split`."
        )
    train = pack(spec, [t[:split_at] for t in leaves])
    val = pack(spec, [t[split_at:] for t in leaves])
    return train, val


# -- streamed data -------------------------------------------------------------------------
class IterableIterator:
    """Batches from a generator, iterator, `DataLoader` or `Dataset`, converted per batch."""

    def __init__(self, source, batch_size, steps_per_epoch, shuffle, model, device):
        from torch.utils.data import DataLoader, Dataset, IterableDataset

        if isinstance(source, (Dataset, IterableDataset)) and not isinstance(source, DataLoader):
            source = DataLoader(source, batch_size=batch_size or 32,
                                shuffle=bool(shuffle) and not isinstance(source, IterableDataset))
        elif batch_size is not None and isinstance(source, DataLoader):
            warnings.warn("`batch_size` is ignored for a DataLoader; it batches itself.",
                          stacklevel=4)
        self._source = source
        self._reiterable = isinstance(source, DataLoader)
        self.steps_per_epoch = steps_per_epoch
        try:
            length = len(source) if self._reiterable else None
        except TypeError:
            length = None
        self.num_batches = steps_per_epoch or length
        self._model = model
        self._device = device
        self._iterator = None if self._reiterable else iter(source)
        self._floats = None
        self.simple = False
        self.exhausted = False

    def _convert(self, batch):
        x, y, sw = unpack_x_y_sample_weight(batch)
        x_leaves, x_spec = flatten(x)
        if self._floats is None:
            self._floats = input_float_dtypes(self._model, x_leaves)
        floats = self._floats if len(self._floats) == len(x_leaves) else [None] * len(x_leaves)
        x = pack(x_spec, [convert(v, f, self._device) for v, f in zip(x_leaves, floats)])
        y_leaves, y_spec = flatten(y)
        y = pack(y_spec, [convert(v, None, self._device) for v in y_leaves])
        sw_leaves, sw_spec = flatten(sw)
        sw = pack(sw_spec, [convert(v, torch.float32, self._device) for v in sw_leaves])
        return x, y, sw

    def __iter__(self):
        if self._reiterable and (self._iterator is None or self.steps_per_epoch is None):
            self._iterator = iter(self._source)
        steps, restarted = 0, False
        while self.steps_per_epoch is None or steps < self.steps_per_epoch:
            try:
                batch = next(self._iterator)
            except StopIteration:
                if self._reiterable and self.steps_per_epoch is not None and not restarted:
                    # A DataLoader starts a new pass, as arrays do.
                    self._iterator = iter(self._source)
                    restarted = True
                    continue
                if self.steps_per_epoch is not None or steps == 0:
                    self.exhausted = True
                return
            steps, restarted = steps + 1, False
            yield self._convert(batch)
