"""Raw I/O for legacy `.h5` files (keras-format.md §5): attributes, JSON configs, tensors.

Legacy files keep their structure in HDF5 *attributes*: JSON strings (`model_config`,
`training_config`) and lists of names (`layer_names`, `weight_names`). A list attribute
larger than HDF5's object-header limit is split into `name0`, `name1`, ... and readers
concatenate the parts. Attributes written by tf.keras are `bytes`, by Keras 3 `str`; both
are accepted.

Reading treats the file as untrusted: it is opened only after `validate_h5_file` walked
it (no external/soft links, virtual or external datasets, shape bombs), attribute types
and sizes are checked before their values are read, and JSON goes through
`load_untrusted_json`.
"""

import contextlib
import os

import h5py
import numpy as np
import torch
from h5py import h5t

from kiln.core import dtypes
from kiln.errors import FileFormatError
from kiln.saving import json_utils
from kiln.saving.h5_store import to_storable
from kiln.saving.h5_validation import dataset_dtype_name, validate_h5_file

__all__ = ["HDF5_OBJECT_HEADER_LIMIT", "open_validated", "read_text_attr", "read_list_attr",
           "has_list_attr", "write_list_attr", "decode_config", "write_tensor", "dataset_at",
           "dataset_spec", "read_array", "castable"]

# Keras's limit for one attribute message (HDF5's 64 KiB header minus bookkeeping).
HDF5_OBJECT_HEADER_LIMIT = 64512
MAX_ATTR_BYTES = json_utils.CONFIG_MAX_BYTES
MAX_LIST_ITEMS = 10_000_000
MAX_ATTR_PARTS = 100_000


@contextlib.contextmanager
def open_validated(path):
    """Opens an `.h5` file for reading after checking its whole structure.

    Yields an `h5py.File`. Raises `kiln.errors.UnsafeFileError` for links that leave the
    file, virtual/external datasets or shape bombs, and `FileFormatError` when the file is
    not HDF5 at all.
    """
    what = f"legacy HDF5 file {os.path.basename(path)!r}"
    try:
        size = os.stat(path).st_size
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(
            f"{what} is not a readable HDF5 file ({err}). Check the path; legacy Keras files "
            "are written by `model.save('x.h5')` or `model.save_weights('x.h5')`."
        ) from None
    try:
        validate_h5_file(h5, size, what)
        yield h5
    finally:
        h5.close()


def _attr_value(obj, name, where):
    """Reads one attribute after checking its type and declared size."""
    try:
        attr = h5py.h5a.open(obj.id, name.encode("utf-8"))
        atype, space = attr.get_type(), attr.get_space()
        cls = atype.get_class()
        points = space.get_simple_extent_npoints()
    except (KeyError, RuntimeError, OSError, ValueError) as err:
        raise FileFormatError(f"{where}: attribute {name!r} cannot be read ({err}).") from None
    if points > MAX_LIST_ITEMS:
        raise FileFormatError(f"{where}: attribute {name!r} declares {points} items; the file "
                              "is damaged or hostile.")
    if cls == h5t.STRING:
        if not atype.is_variable_str() and atype.get_size() * points > MAX_ATTR_BYTES:
            raise FileFormatError(f"{where}: attribute {name!r} declares "
                                  f"{atype.get_size() * points} bytes, more than the "
                                  f"{MAX_ATTR_BYTES}-byte limit.")
    elif cls == h5t.VLEN and atype.get_super().get_class() == h5t.STRING:
        pass
    elif cls in (h5t.FLOAT, h5t.INTEGER) and points == 0:
        return []  # Keras writes an empty name list as an empty float64 array
    else:
        raise FileFormatError(
            f"{where}: attribute {name!r} has HDF5 type class {cls}; legacy Keras files store "
            "only strings and lists of strings there."
        )
    try:
        return obj.attrs[name]
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        raise FileFormatError(f"{where}: attribute {name!r} cannot be read ({err}).") from None


def _text(value, where, name):
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            value = value.item()
        elif value.size == 1:
            value = value.reshape(-1)[0]
        else:
            raise FileFormatError(f"{where}: attribute {name!r} should be one string, found "
                                  f"an array of shape {value.shape}.")
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError(f"{where}: attribute {name!r} is not UTF-8 text.") from None
    if isinstance(value, str):
        return value
    raise FileFormatError(f"{where}: attribute {name!r} should be a string, found "
                          f"{type(value).__name__}.")


def _names(value, where, name):
    if isinstance(value, list):
        items = value
    elif isinstance(value, np.ndarray):
        items = list(value.reshape(-1))
    else:
        items = [value]
    return [_text(item, where, name) for item in items]


def _parts(obj, name):
    count = 0
    while f"{name}{count}" in obj.attrs:
        count += 1
        if count > MAX_ATTR_PARTS:
            break
    return [f"{name}{i}" for i in range(count)]


def read_text_attr(obj, name, where):
    """A string attribute (str or bytes; split parts `name0`, `name1`... joined), or None."""
    if name in obj.attrs:
        return _text(_attr_value(obj, name, where), where, name)
    parts = _parts(obj, name)
    if not parts:
        return None
    text = "".join(_text(_attr_value(obj, p, where), where, p) for p in parts)
    if len(text) > MAX_ATTR_BYTES:
        raise FileFormatError(f"{where}: attribute {name!r} is larger than {MAX_ATTR_BYTES} bytes.")
    return text


def has_list_attr(obj, name):
    return name in obj.attrs or f"{name}0" in obj.attrs


def read_list_attr(obj, name, where):
    """A list-of-names attribute (split parts concatenated); `[]` when absent."""
    if name in obj.attrs:
        return _names(_attr_value(obj, name, where), where, name)
    names = []
    for part in _parts(obj, name):
        names.extend(_names(_attr_value(obj, part, where), where, part))
        if len(names) > MAX_LIST_ITEMS:
            raise FileFormatError(f"{where}: attribute {name!r} lists too many names.")
    return names


def write_list_attr(obj, name, items):
    """Writes a list of names as fixed-length byte strings, split like Keras when too large.

    An empty list is written as an empty float64 array, as Keras does.
    """
    encoded = [str(item).encode("utf-8") for item in items]
    if not encoded:
        obj.attrs[name] = np.zeros((0,), dtype=np.float64)
        return
    too_long = [e.decode("utf-8") for e in encoded if len(e) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise ValueError(
            f"Cannot store names longer than {HDF5_OBJECT_HEADER_LIMIT} bytes in an HDF5 "
            f"attribute. Received: {[n[:80] + '...' for n in too_long]}. Use shorter layer names."
        )
    array = np.array(encoded)
    chunks = max(1, -(-array.nbytes // HDF5_OBJECT_HEADER_LIMIT))
    parts = np.array_split(array, chunks)
    while any(p.nbytes > HDF5_OBJECT_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(array, chunks)
    if chunks == 1:
        obj.attrs[name] = array
    else:
        for i, part in enumerate(parts):
            obj.attrs[f"{name}{i}"] = part


def _undo_json_encodings(value):
    """Replaces Keras's legacy JSON encodings (`__tuple__`, `TensorShape`) by lists."""
    if isinstance(value, list):
        return [_undo_json_encodings(v) for v in value]
    if isinstance(value, dict):
        if value.get("class_name") in ("__tuple__", "TensorShape") and "items" in value \
                and "config" not in value:
            items = value["items"]
            return None if items is None else [_undo_json_encodings(v) for v in items]
        if value.get("__passive_serialization__") is True:
            value = {k: v for k, v in value.items() if k != "__passive_serialization__"}
        return {k: _undo_json_encodings(v) for k, v in value.items()}
    return value


def decode_config(text, what):
    """Parses a JSON config attribute with the untrusted-JSON limits."""
    parsed = json_utils.load_untrusted_json(text.encode("utf-8"), what)
    return _undo_json_encodings(parsed)


def write_tensor(group, name, value):
    """Writes one variable at `name` (a `/` path creates nested groups, as Keras does)."""
    array, is_bf16 = to_storable(value)
    dset = group.create_dataset(name, data=array)
    if is_bf16:
        dset.attrs["dtype"] = "bfloat16"


def dataset_at(group, name, where):
    """The dataset a weight name points to, or a FileFormatError naming it."""
    try:
        item = group.get(name)
    except (KeyError, ValueError, RuntimeError, OSError) as err:
        raise FileFormatError(f"{where}: weight {name!r} cannot be opened ({err}).") from None
    if not isinstance(item, h5py.Dataset):
        found = "nothing" if item is None else "a group"
        raise FileFormatError(f"{where}: weight_names lists {name!r}, but the file has {found} "
                              "at that path. The file is damaged.")
    return item


def dataset_spec(dset):
    """`(shape, dtype_name)` of a validated dataset, without reading data."""
    return tuple(dset.shape), dataset_dtype_name(dset)[0]


def read_array(dset):
    """The dataset's data as a torch tensor (bfloat16 opaque records reinterpreted)."""
    name = dataset_dtype_name(dset)[0]
    try:
        data = dset[()]
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        raise FileFormatError(f"Could not read dataset {dset.name!r}: {err}.") from None
    data = np.asarray(data)
    if name == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(data).view(np.int16)).view(torch.bfloat16)
    if name == "bool":
        data = data.astype(np.bool_)
    return torch.from_numpy(np.ascontiguousarray(data))


def castable(stored, target):
    """Whether a stored dtype may be assigned to a variable of dtype `target`."""
    try:
        s, t = dtypes.standardize(stored), dtypes.standardize(target)
    except (ValueError, TypeError):
        return False
    if s == t:
        return True
    return dtypes.is_float(s) == dtypes.is_float(t)
