"""Checks an untrusted HDF5 weights file before any tensor data is read.

`scan_h5_file` walks every link of the file once, without following anything that leaves
the file, and refuses what a Keras weights file never contains but an attacker could use:
links to other files or paths, datasets stored outside the file or assembled from other
files, non-numeric dtypes (strings, references, objects), filters (which Keras never
writes), and "shape bombs" whose declared size dwarfs the file.

The same pass records, for every dataset, what a reader needs to fetch its bytes without
touching h5py again (shape, dtype, where its contiguous data lies), and for every `vars`
group the links it holds. The walk uses h5py's low-level API (`h5o.visit`, `h5l` link
visits, `h5d` ids): creating high-level h5py objects per dataset costs several times more.
"""

import math
from typing import NamedTuple, Optional

import h5py
import numpy as np
from h5py import h5d, h5l, h5o, h5s, h5t

from kiln.errors import FileFormatError, UnsafeFileError

__all__ = ["validate_h5_file", "scan_h5_file", "dataset_dtype_name", "DatasetInfo", "MAX_OBJECTS"]

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

# Serialized type (H5Tencode) -> classification, for types whose name does not depend on
# attributes (everything but opaque). Equal encodings mean equal types, so a hit gives the
# same answer as the `equal` loop below; a miss just takes the loop. Bounded: a hostile
# file may hold many distinct types.
_BY_ENCODING = {std.encode(): (name, order == "LE") for std, name, order in _STANDARD_TYPES}
_CACHE_LIMIT = 256

_CLASS_NAMES = {
    h5t.STRING: "string", h5t.COMPOUND: "compound", h5t.REFERENCE: "reference (object)",
    h5t.VLEN: "variable-length", h5t.ARRAY: "array", h5t.BITFIELD: "bitfield",
    h5t.TIME: "time", h5t.OPAQUE: "opaque", h5t.ENUM: "enum",
}


class DatasetInfo(NamedTuple):
    """One validated dataset, as recorded by `scan_h5_file`.

    `offset` is where the contiguous data starts, counted from the start of the HDF5 file
    (the window a reader reads through), or None when the data is not stored as one
    contiguous block (chunked, compact, or never written).
    """

    path: str
    shape: tuple
    dtype: str
    little_endian: bool
    itemsize: int
    nbytes: int
    offset: Optional[int]
    storage: int

    @property
    def direct(self):
        """True when the bytes can be copied straight from the file into a tensor."""
        return self.offset is not None and self.little_endian and self.storage == self.nbytes


class H5Scan(NamedTuple):
    """Result of `scan_h5_file`.

    `groups` maps each store path that has a `vars` group (`"layers/dense"`, `""` for the
    top-level `/vars`) to that group's links: `[(link name, DatasetInfo or "group")]`.
    """

    groups: dict


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


def _classify(tid, cls):
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
    return None, _CLASS_NAMES.get(cls, f"HDF5 type class {cls}")


def type_name(tid, marker):
    """Classifies an h5py `TypeID`; `marker()` returns the dataset's `dtype` attribute.

    Returns `(name, little_endian)` or `(None, description)`, as `dataset_dtype_name`.
    """
    try:
        key = tid.encode()
    except (OSError, ValueError, RuntimeError):
        key = None
    hit = _BY_ENCODING.get(key) if key is not None else None
    if hit is not None:
        return hit
    cls = tid.get_class()
    if cls == h5t.OPAQUE:
        if tid.get_size() == 2 and marker() == "bfloat16":
            return "bfloat16", True
        return None, f"opaque ({tid.get_size()} bytes, no dtype=\"bfloat16\" marker)"
    result = _classify(tid, cls)
    if key is not None and len(_BY_ENCODING) < _CACHE_LIMIT:
        _BY_ENCODING[key] = result
    return result


def dataset_dtype_name(dset):
    """Returns `(name, little_endian)` for a dataset's type, e.g. `("float32", True)`.

    Accepted: standard IEEE floats (16/32/64 bit), standard integers (8..64 bit, signed or
    not), h5py's bool enum, and the 2-byte opaque type marked with attribute
    `dtype="bfloat16"` (the Keras bfloat16 form). Returns `(None, description)` for
    anything else.

    Example:
        >>> dataset_dtype_name(h5file["layers/dense/vars/0"])
        ('float32', True)
    """
    return type_name(dset.id.get_type(), lambda: read_small_string_attr(dset, "dtype"))


def _refuse(what, path, problem, fix="Only load weights files written by Keras or kiln."):
    raise UnsafeFileError(f"Refusing to read {what}: HDF5 path '/{path}' is {problem}. {fix}")


def _decode(name):
    return name.decode("utf-8", "surrogateescape")


def _check_dataset(fid, name, file_size, base, what):
    """Validates the dataset at link path `name` (bytes); returns its `DatasetInfo`."""
    path = _decode(name)
    dsid = h5d.open(fid, name)
    plist = dsid.get_create_plist()
    layout = plist.get_layout()
    if layout == h5d.VIRTUAL:
        _refuse(what, path, "a virtual dataset (its data would come from other files)")
    if plist.get_external_count():
        _refuse(what, path, "a dataset with external storage (its data lives in another file)")
    nfilters = plist.get_nfilters()
    if nfilters:
        filters = [plist.get_filter(i)[3].decode("ascii", "replace") for i in range(nfilters)]
        _refuse(what, path, f"a dataset using filters/compression {filters}; Keras weights "
                            "files store plain uncompressed data")
    if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT):
        _refuse(what, path, f"a dataset with unknown storage layout {layout}")
    space = dsid.get_space()
    if space.get_simple_extent_type() not in (h5s.SCALAR, h5s.SIMPLE):
        _refuse(what, path, "a dataset without data space (null/empty dataset)")
    tid = dsid.get_type()
    dtype, detail = type_name(tid, lambda: read_small_string_attr(h5py.Dataset(dsid), "dtype"))
    if dtype is None:
        _refuse(what, path, f"a dataset of {detail} type; only numeric tensors "
                            "(float16/32/64, bfloat16, int8..64, uint8..64, bool) are allowed")
    shape = space.shape
    itemsize = tid.get_size()
    nbytes = math.prod(shape) * itemsize
    if nbytes > max(file_size, _FILL_SLACK):
        _refuse(what, path, f"a dataset declaring shape {shape} ({nbytes} bytes) in a file of "
                            f"{file_size} bytes (a 'shape bomb')")
    storage = dsid.get_storage_size()
    offset = None
    if layout == h5d.CONTIGUOUS:
        absolute = dsid.get_offset()
        if absolute is not None:
            offset = absolute - base
            if offset < 0 or offset + storage > file_size:
                _refuse(what, path, f"a dataset whose data (offset {offset}, {storage} bytes) "
                                    "lies beyond the end of the file")
    little_endian = detail  # for an accepted type, `type_name` returns the byte order here
    return DatasetInfo(path, shape, dtype, little_endian, itemsize, nbytes, offset, storage)


def _visit(fid, what):
    """Returns `({path: (object type, address)}, [every link path])`, paths as bytes.

    `h5o.visit` reports each object reachable through hard links once (so cycles end);
    the link visit lists every link, including the soft and external ones that object
    visit silently skips. Callbacks only record (an exception inside an h5py visit
    callback is not propagated cleanly) and stop the walk past `MAX_OBJECTS`.
    """
    objects = {}

    def on_object(name, info):
        objects[name] = (info.type, info.addr)
        return True if len(objects) > MAX_OBJECTS else None

    links = []

    def on_link(name):
        links.append(name)
        return True if len(links) > MAX_OBJECTS else None

    h5o.visit(fid, on_object, info=True)
    if len(objects) <= MAX_OBJECTS:
        fid.links.visit(on_link)
    if len(objects) > MAX_OBJECTS or len(links) > MAX_OBJECTS:
        raise UnsafeFileError(f"Refusing to read {what}: more than {MAX_OBJECTS} HDF5 objects.")
    return objects, links


def scan_h5_file(h5file, file_size, what, base=0):
    """Validates the whole file and records where every variable's bytes are.

    Args:
        h5file: An open `h5py.File`.
        file_size: Size in bytes of the HDF5 data (of the member, for a file embedded in a
            zip); every dataset's bytes must lie inside it.
        what: Name used in error messages.
        base: Where the HDF5 data starts in the file h5py opened (dataset addresses from
            HDF5 are absolute; `DatasetInfo.offset` is relative to `base`).

    Hard links are followed (each object visited once); any other link kind is refused.

    Raises:
        kiln.errors.UnsafeFileError: naming the HDF5 path of a refused object.
        kiln.errors.FileFormatError: when the file's structure cannot be read.

    Example:
        >>> with h5py.File("model.weights.h5", "r") as f:
        ...     scan = scan_h5_file(f, os.path.getsize("model.weights.h5"), "model.weights.h5")
        >>> [(name, info.shape) for name, info in scan.groups["layers/dense"]]
        [('0', (4, 3)), ('1', (3,))]
    """
    fid = h5file.id
    try:
        objects, links = _visit(fid, what)
        addr_of = {name: addr for name, (_, addr) in objects.items()}
        for name in links:
            if name in addr_of:
                continue  # the first hard link to an object
            link = fid.links.get_info(name)
            path = _decode(name)
            if link.type == h5l.TYPE_SOFT:
                _refuse(what, path, "a soft link")
            if link.type == h5l.TYPE_EXTERNAL:
                _refuse(what, path, "an external link (pointing into another file)")
            if link.type != h5l.TYPE_HARD:
                _refuse(what, path, f"a user-defined link (type {link.type})")
            addr_of[name] = link.u  # another hard link to an object already visited
        datasets = {}
        declared = 0
        for name, (kind, addr) in objects.items():
            if kind == h5o.TYPE_DATASET:
                info = _check_dataset(fid, name, file_size, base, what)
                datasets[addr] = info
                declared += info.nbytes
            elif kind != h5o.TYPE_GROUP:
                _refuse(what, _decode(name), "a committed datatype object; Keras files contain "
                                             "only groups and datasets")
        vars_groups = {addr: _decode(name[:-5]) if name != b"vars" else ""
                       for name, (kind, addr) in objects.items()
                       if kind == h5o.TYPE_GROUP and (name == b"vars" or name.endswith(b"/vars"))}
        root = h5o.get_info(fid).addr
        groups = {path: [] for path in vars_groups.values()}
        for name in links:
            parent, _, leaf = name.rpartition(b"/")
            store = vars_groups.get(addr_of[parent] if parent else root)
            if store is not None:
                target = addr_of[name]
                groups[store].append((_decode(leaf), datasets.get(target, "group")))
    except FileFormatError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError) as err:
        raise FileFormatError(f"Could not read the structure of {what}: {err}. The file is "
                              "damaged or not an HDF5 weights file.") from None
    if declared > file_size + _FILL_SLACK:
        raise UnsafeFileError(
            f"Refusing to read {what}: its datasets declare {declared} bytes in total but the "
            f"file holds only {file_size} bytes (overlapping data or a 'shape bomb')."
        )
    return H5Scan(groups)


def validate_h5_file(h5file, file_size, what):
    """Walks the whole file once and returns the set of store paths that have a `vars` group.

    Store paths have no leading slash: `"layers/dense"`; the top-level `/vars` group gives
    `""`. See `scan_h5_file` for what is refused.

    Example:
        >>> validate_h5_file(h5file, os.path.getsize(path), path)
        {'', 'layers/dense'}
    """
    return set(scan_h5_file(h5file, file_size, what).groups)
