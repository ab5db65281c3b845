"""Checks an untrusted HDF5 weights file before any tensor data is read.

`validate_h5_file` walks every link of the file once, without following anything that
leaves the file, and refuses what a Keras weights file never contains but an attacker
could use: links to other files or paths, datasets stored outside the file or assembled
from other files, non-numeric dtypes (strings, references, objects), filters (which Keras
never writes), and "shape bombs" whose declared size dwarfs the file.
"""

import math

import h5py
import numpy as np
from h5py import h5d, h5l, h5o, h5s, h5t

from kiln.errors import FileFormatError, UnsafeFileError

__all__ = ["validate_h5_file", "dataset_dtype_name", "MAX_OBJECTS"]

MAX_OBJECTS = 1_000_000
# Datasets never written keep no storage and read back as fill values; allow that much.
_FILL_SLACK = 1024 * 1024

_STANDARD_TYPES = []
for _bits in (8, 16, 32, 64):
    for _order in ("LE", "BE"):
        _STANDARD_TYPES.append((getattr(h5t, f"STD_I{_bits}{_order}"), f"int{_bits}", _order))
        _STANDARD_TYPES.append((getattr(h5t, f"STD_U{_bits}{_order}"), f"uint{_bits}", _order))
for _bits in (16, 32, 64):
    for _order in ("LE", "BE"):
        _STANDARD_TYPES.append((getattr(h5t, f"IEEE_F{_bits}{_order}"), f"float{_bits}", _order))

_CLASS_NAMES = {
    h5t.STRING: "string", h5t.COMPOUND: "compound", h5t.REFERENCE: "reference (object)",
    h5t.VLEN: "variable-length", h5t.ARRAY: "array", h5t.BITFIELD: "bitfield",
    h5t.TIME: "time", h5t.OPAQUE: "opaque", h5t.ENUM: "enum",
}


def read_small_string_attr(obj, name, limit=256):
    """Returns a short scalar string attribute of `obj`, or None if absent or of another kind."""
    if not h5py.h5a.exists(obj.id, name.encode()):
        return None
    attr = h5py.h5a.open(obj.id, name.encode())
    atype, space = attr.get_type(), attr.get_space()
    if atype.get_class() != h5t.STRING or space.get_simple_extent_npoints() != 1:
        return None
    if not atype.is_variable_str() and atype.get_size() > limit:
        return None
    value = obj.attrs[name]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value[:limit] if isinstance(value, str) else None


def dataset_dtype_name(dset):
    """Returns `(name, little_endian)` for a dataset's type, e.g. `("float32", True)`.

    Accepted: standard IEEE floats (16/32/64 bit), standard integers (8..64 bit, signed or
    not), h5py's bool enum, and the 2-byte opaque type marked with attribute
    `dtype="bfloat16"` (the Keras bfloat16 form). Returns `(None, description)` for
    anything else.
    """
    tid = dset.id.get_type()
    cls = tid.get_class()
    if cls in (h5t.INTEGER, h5t.FLOAT):
        for std, name, order in _STANDARD_TYPES:
            if tid.equal(std):
                return name, order == "LE"
        return None, f"non-standard {'integer' if cls == h5t.INTEGER else 'float'} of {tid.get_size()} bytes"
    if cls == h5t.ENUM:
        base = tid.get_super()
        members = {tid.get_member_name(i) for i in range(tid.get_nmembers())}
        if base.get_class() == h5t.INTEGER and base.get_size() == 1 and members == {b"FALSE", b"TRUE"}:
            return "bool", True
        return None, "enum"
    if cls == h5t.OPAQUE:
        if tid.get_size() == 2 and read_small_string_attr(dset, "dtype") == "bfloat16":
            return "bfloat16", True
        return None, f"opaque ({tid.get_size()} bytes, no dtype=\"bfloat16\" marker)"
    return None, _CLASS_NAMES.get(cls, f"HDF5 type class {cls}")


def _refuse(what, path, problem, fix="Only load weights files written by Keras or kiln."):
    raise UnsafeFileError(f"Refusing to read {what}: HDF5 path '/{path}' is {problem}. {fix}")


def _check_dataset(dset, path, file_size, what):
    """Validates one dataset; returns its declared size in bytes."""
    dsid = dset.id
    plist = dsid.get_create_plist()
    layout = plist.get_layout()
    if layout == h5d.VIRTUAL:
        _refuse(what, path, "a virtual dataset (its data would come from other files)")
    if plist.get_external_count():
        _refuse(what, path, "a dataset with external storage (its data lives in another file)")
    if plist.get_nfilters():
        filters = [plist.get_filter(i)[3].decode("ascii", "replace") for i in range(plist.get_nfilters())]
        _refuse(what, path, f"a dataset using filters/compression {filters}; Keras weights "
                            "files store plain uncompressed data")
    if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT):
        _refuse(what, path, f"a dataset with unknown storage layout {layout}")
    space = dsid.get_space()
    if space.get_simple_extent_type() not in (h5s.SCALAR, h5s.SIMPLE):
        _refuse(what, path, "a dataset without data space (null/empty dataset)")
    name, detail = dataset_dtype_name(dset)
    if name is None:
        _refuse(what, path, f"a dataset of {detail} type; only numeric tensors "
                            "(float16/32/64, bfloat16, int8..64, uint8..64, bool) are allowed")
    shape = space.shape
    nbytes = math.prod(shape) * dsid.get_type().get_size()
    if nbytes > max(file_size, _FILL_SLACK):
        _refuse(what, path, f"a dataset declaring shape {shape} ({nbytes} bytes) in a file of "
                            f"{file_size} bytes (a 'shape bomb')")
    if layout == h5d.CONTIGUOUS:
        offset = dsid.get_offset()
        if offset is not None and offset + dsid.get_storage_size() > file_size:
            _refuse(what, path, f"a dataset whose data (offset {offset}, "
                                f"{dsid.get_storage_size()} bytes) lies beyond the end of the file")
    return nbytes


def validate_h5_file(h5file, file_size, what):
    """Walks the whole file once and returns the set of store paths that have a `vars` group.

    Store paths have no leading slash: `"layers/dense"`; the top-level `/vars` group gives
    `""`. Hard links are followed (each object visited once, so cycles end); any other link
    kind is refused.

    Raises:
        kiln.errors.UnsafeFileError: naming the HDF5 path of the first refused object.
        kiln.errors.FileFormatError: when the file's structure cannot be read.
    """
    vars_paths = set()
    root = h5o.get_info(h5file.id)
    visited = {(root.fileno, root.addr)}
    stack = [("", h5file)]
    declared = objects = 0
    try:
        while stack:
            prefix, group = stack.pop()
            for name in group.keys():
                path = f"{prefix}/{name}" if prefix else name
                objects += 1
                if objects > MAX_OBJECTS:
                    raise UnsafeFileError(f"Refusing to read {what}: more than {MAX_OBJECTS} "
                                          "HDF5 objects.")
                link = group.id.links.get_info(name.encode("utf-8"))
                if link.type == h5l.TYPE_SOFT:
                    _refuse(what, path, "a soft link")
                if link.type == h5l.TYPE_EXTERNAL:
                    _refuse(what, path, "an external link (pointing into another file)")
                if link.type != h5l.TYPE_HARD:
                    _refuse(what, path, f"a user-defined link (type {link.type})")
                child = group[name]
                info = h5o.get_info(child.id)
                key = (info.fileno, info.addr)
                if key in visited:
                    continue
                visited.add(key)
                if isinstance(child, h5py.Group):
                    if name == "vars":
                        vars_paths.add(prefix)
                    stack.append((path, child))
                elif isinstance(child, h5py.Dataset):
                    declared += _check_dataset(child, path, file_size, what)
                else:
                    _refuse(what, path, "a committed datatype object; Keras files contain only "
                                        "groups and datasets")
    except UnsafeFileError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError) as err:
        raise FileFormatError(f"Could not read the structure of {what}: {err}. The file is "
                              "damaged or not an HDF5 weights file.") from None
    if declared > file_size + _FILL_SLACK:
        raise UnsafeFileError(
            f"Refusing to read {what}: its datasets declare {declared} bytes in total but the "
            f"file holds only {file_size} bytes (overlapping data or a 'shape bomb')."
        )
    return vars_paths
