"""Writes the Keras 3 `.weights.h5` variable store (layout in `h5_store`).

Groups, datasets and attributes are created with h5py's low-level API (the high-level
`create_dataset`/`attrs` path costs several times more per object, which dominates for
models with thousands of small variables) and look exactly like what h5py's high-level
API, and so Keras, writes: contiguous datasets, no filters, no time stamps, `name`
attributes as variable-length UTF-8 strings.

When HDF5 writes natively to a file (a path target), tensor bytes do not go through
HDF5 at all: each dataset's space is allocated when it is created, and the bytes are
copied with `os.pwrite` straight from the tensor's memory to that place in the file.
"""

import os

import h5py
import numpy as np
import torch
from h5py import h5a, h5d, h5g, h5p, h5s, h5t

from kiln.saving.atomic import atomic_write
from kiln.saving.span_io import start_writeback

__all__ = ["H5Writer", "to_storable", "vars_group"]

_TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "uint16": torch.uint16,
    "uint32": torch.uint32, "uint64": torch.uint64, "bool": torch.bool,
}
_TORCH_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
_NUMPY_NAMES = frozenset(_TORCH_DTYPES) - {"bfloat16"}
_STR = h5py.string_dtype()
_MAX_PWRITE = 1 << 30
_WRITEBACK_EVERY = 32 * 1024 * 1024  # start disk writes after this many new bytes


def vars_group(path):
    """Returns the HDF5 group name for a store path: `"layers/dense"` -> `"layers/dense/vars"`."""
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise ValueError(f"Store paths look like 'layers/dense' (no leading, trailing or double "
                         f"slash). Received: path={path!r}")
    return f"{path}/vars" if path else "vars"


def to_storable(value):
    """Returns `(numpy_array, is_bfloat16)` ready for h5py, without copying when possible.

    CPU contiguous torch tensors are viewed, not copied (`tensor.numpy()`); bfloat16 is
    reinterpreted as opaque 2-byte `|V2` records, exactly what Keras writes.

    Example:
        >>> to_storable(torch.zeros(2, dtype=torch.bfloat16))[0].dtype
        dtype('V2')
    """
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        tensor = tensor.resolve_conj().resolve_neg().contiguous()
        name = _TORCH_NAMES.get(tensor.dtype)
        if name is None:
            raise TypeError(f"Cannot store a torch tensor of dtype {tensor.dtype} in a weights "
                            f"file. Supported dtypes: {sorted(_TORCH_DTYPES)}.")
        if name == "bfloat16":
            return tensor.view(torch.int16).numpy().view("V2"), True
        return tensor.numpy(), False
    array = np.asarray(value)
    if array.dtype.name == "bfloat16":  # ml_dtypes arrays
        return np.ascontiguousarray(array).view("V2"), True
    if array.dtype.name not in _NUMPY_NAMES:
        raise TypeError(f"Cannot store an array of dtype {array.dtype} in a weights file. "
                        f"Supported dtypes: {sorted(_TORCH_DTYPES)}.")
    return np.ascontiguousarray(array), False


def _shares_memory(value, array):
    """True when `array` views `value`'s own memory (so it stays valid after the call)."""
    if isinstance(value, torch.Tensor):
        return value.device.type == "cpu" and value.numel() > 0 and \
            value.data_ptr() == array.__array_interface__["data"][0]
    return isinstance(value, np.ndarray) and np.may_share_memory(value, array)


def _pwrite_all(fd, data, offset):
    while len(data):
        written = os.pwrite(fd, data[:_MAX_PWRITE], offset)
        data, offset = data[written:], offset + written


def _new_link_plist(encoding):
    lcpl = h5p.create(h5p.LINK_CREATE)
    lcpl.set_create_intermediate_group(True)
    lcpl.set_char_encoding(encoding)
    return lcpl


_ASCII_LINKS = None


def _link_plist(name):
    """`(encoded name, link creation properties)` as h5py makes them: ASCII names are
    marked ASCII, others UTF-8."""
    global _ASCII_LINKS
    try:
        encoded = name.encode("ascii")
    except UnicodeEncodeError:
        return name.encode("utf-8"), _new_link_plist(h5t.CSET_UTF8)
    if _ASCII_LINKS is None:
        _ASCII_LINKS = _new_link_plist(h5t.CSET_ASCII)
    return encoded, _ASCII_LINKS


_ATTR_IDS = []


def write_string_attr(obj_id, name, value, check_existing=True):
    """Sets a scalar variable-length UTF-8 string attribute (h5py's `attrs[name] = str`)."""
    if not _ATTR_IDS:  # file type, memory type, scalar space: created once, reused
        _ATTR_IDS.extend([h5t.py_create(_STR, logical=True), h5t.py_create(_STR),
                          h5s.create(h5s.SCALAR)])
    file_type, memory_type, scalar = _ATTR_IDS
    encoded = name.encode("utf-8")
    if check_existing and h5a.exists(obj_id, encoded):
        h5a.delete(obj_id, encoded)
    attr = h5a.create(obj_id, encoded, file_type, scalar)
    try:
        attr.write(np.asarray(value, dtype=_STR), mtype=memory_type)
    finally:
        attr.close()


class H5Writer:
    """Writes a Keras 3 `.weights.h5` store.

    Args:
        target: A path (written atomically: nothing appears at the path until `close()`
            succeeds) or a writable, seekable binary file object (the caller owns it).

    Example:
        >>> with H5Writer("model.weights.h5") as w:
        ...     w.put("layers/dense", [kernel, bias], name="d1")
        ...     w.put("", [], name="model")   # the empty top-level `/vars` group
    """

    def __init__(self, target):
        self._atomic = None
        self._file = None
        self._fd = None
        self.spans = None
        if isinstance(target, (str, os.PathLike)):
            self._atomic = atomic_write(target)
            fileobj = self._atomic.__enter__()
        else:
            fileobj = target
        try:
            if self._atomic is not None:
                self._open_native(fileobj.name, fileobj.fileno(), 0)
            else:
                self._file = h5py.File(fileobj, "w")
                self._setup(native=False)
        except BaseException as err:
            self._abort(err)
            raise

    @classmethod
    def in_place(cls, path, fd, userblock):
        """A writer whose HDF5 data starts `userblock` bytes into the (empty) file at `path`.

        `fd` is an open read/write descriptor on the same file; tensor bytes are written
        through it. `spans` then lists `(absolute offset, size, byte view or None)` for
        every dataset written, the view being set when it stays valid (the caller's own
        tensor memory), so the caller can checksum the file without reading those bytes
        back. The caller owns the file: `close()` only finishes the HDF5 data.
        """
        writer = cls.__new__(cls)
        writer._atomic, writer._file, writer._fd = None, None, None
        writer.spans = []
        writer._open_native(path, fd, userblock)
        return writer

    def _open_native(self, path, fd, userblock):
        self._file = h5py.File(path, "w", userblock_size=userblock or None, locking=False)
        self._fd = fd
        self._setup(native=True)

    def _setup(self, native):
        self._groups = {"": self._file.id}
        self._written = {}
        self._types = {}
        self._spaces = {}
        self._named = set()
        self._dcpl = h5p.create(h5p.DATASET_CREATE)
        self._dcpl.set_layout(h5d.CONTIGUOUS)
        self._dcpl.set_obj_track_times(False)
        if native:  # the space is reserved now and filled by pwrite, never by HDF5
            self._dcpl.set_alloc_time(h5d.ALLOC_TIME_EARLY)
            self._dcpl.set_fill_time(h5d.FILL_TIME_NEVER)
        self.total_bytes = 0
        self._unsynced = 0

    def _group(self, name):
        gid = self._groups.get(name)
        if gid is None:
            parent, _, leaf = name.rpartition("/")
            encoded, lcpl = _link_plist(leaf)
            gid = self._groups[name] = h5g.create(self._group(parent), encoded, lcpl=lcpl)
        return gid

    def ensure_group(self, path, name=None):
        """Creates (if needed) the `vars` group for `path`, setting its `name`; returns a
        handle for `write_array`."""
        key = vars_group(path)
        gid = self._group(key)
        if name is not None:
            write_string_attr(gid, "name", str(name), check_existing=key in self._named)
            self._named.add(key)
        return key

    def write_dataset(self, group, index, value):
        """Writes one variable as dataset `str(index)` of `group`; returns its size in bytes."""
        array, is_bf16 = to_storable(value)
        return self.write_array(group, index, array, is_bf16, _shares_memory(value, array))

    def write_array(self, group, index, array, is_bf16=False, borrowed=False):
        """Writes an array already converted by `to_storable`; returns its size in bytes.

        `borrowed` says that `array` views memory that outlives the writer (the model's
        tensor), which lets an in-place writer checksum it later without re-reading.
        """
        key = str(index)
        written = self._written.setdefault(group, set())
        if key in written:
            raise ValueError(f"Dataset /{group}/{key} was already written; each variable "
                             "must be stored once.")
        tid = self._types.get(array.dtype)
        if tid is None:
            tid = self._types[array.dtype] = h5t.py_create(array.dtype, logical=True)
        space = self._spaces.get(array.shape)
        if space is None:
            space = self._spaces[array.shape] = h5s.create_simple(array.shape)
        encoded, lcpl = _link_plist(key)
        dsid = h5d.create(self._groups[group], encoded, tid, space, dcpl=self._dcpl, lcpl=lcpl)
        written.add(key)
        if is_bf16:
            write_string_attr(dsid, "dtype", "bfloat16", check_existing=False)
        if array.nbytes:
            if self._fd is None:
                dsid.write(h5s.ALL, h5s.ALL, array)
            else:
                data = memoryview(array.reshape(-1).view(np.uint8))
                offset = dsid.get_offset()
                _pwrite_all(self._fd, data, offset)
                self._unsynced += len(data)
                if self._unsynced >= _WRITEBACK_EVERY:
                    start_writeback(self._fd)
                    self._unsynced = 0
                if self.spans is not None:
                    self.spans.append((offset, len(data), data if borrowed else None))
        self.total_bytes += array.nbytes
        return array.nbytes

    def put(self, path, arrays, name=None):
        """Stores `arrays` (torch tensors or numpy arrays) under `<path>/vars` as "0", "1", ...

        An empty list creates just the (named) group, as Keras does for layers without
        variables.
        """
        group = self.ensure_group(path, name)
        for index, value in enumerate(arrays):
            self.write_dataset(group, index, value)

    def close(self):
        """Finishes the file (and, for a path target, publishes it atomically)."""
        if self._file is None:
            return
        self._groups, self._spaces = {}, {}
        try:
            self._file.close()
        except BaseException as err:
            self._file = None
            self._abort(err)
            raise
        self._file = None
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(None, None, None)

    def abort(self):
        """Discards everything written; a path target keeps its previous content."""
        if self._file is not None:
            self._groups = {}
            try:
                self._file.close()
            except Exception:
                pass
            self._file = None
        self._abort(RuntimeError("aborted"))

    def _abort(self, err):
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            try:
                atomic.__exit__(type(err), err, err.__traceback__)
            except BaseException:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False
