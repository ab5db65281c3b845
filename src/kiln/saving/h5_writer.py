"""Writes the Keras 3 `.weights.h5` variable store (layout in `h5_store`).

The file is encoded by `h5_format` (the HDF5 structures h5py writes for such a tree),
not through libhdf5: creating thousands of groups, datasets and attributes through
libhdf5 costs far more than the data for models with many small variables. Each tensor's
bytes go straight from its memory to the file (`os.pwrite` for files), in the order the
variables are stored; the metadata follows once every variable is known.
"""

import os
import zlib

import numpy as np
import torch

from kiln.saving.atomic import atomic_write
from kiln.saving.h5_format import DATA_ALIGNMENT, SUPERBLOCK_SIZE, UNDEF, FileTree
from kiln.saving.span_io import crc32_combine, start_writeback

__all__ = ["H5Writer", "to_storable", "vars_group"]

_TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "uint16": torch.uint16,
    "uint32": torch.uint32, "uint64": torch.uint64, "bool": torch.bool,
}
_TORCH_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
_NUMPY_NAMES = frozenset(_TORCH_DTYPES) - {"bfloat16"}
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


def _pwrite_all(fd, data, offset):
    while len(data):
        written = os.pwrite(fd, data[:_MAX_PWRITE], offset)
        data, offset = data[written:], offset + written


class _FdSink:
    """Positioned writes to a file descriptor, `base` bytes into the file."""

    def __init__(self, fd, base):
        self.fd, self.base, self._unsynced = fd, base, 0

    def write(self, data, offset):
        _pwrite_all(self.fd, data, self.base + offset)
        self._unsynced += len(data)
        if self._unsynced >= _WRITEBACK_EVERY:
            start_writeback(self.fd)
            self._unsynced = 0


class _FileSink:
    """Seek-and-write to a writable, seekable binary file object."""

    def __init__(self, fileobj):
        self.fileobj = fileobj

    def write(self, data, offset):
        self.fileobj.seek(offset)
        view = memoryview(data)
        while len(view):
            written = self.fileobj.write(view)
            view = view[written if written is not None else len(view):]


class H5Writer:
    """Writes a Keras 3 `.weights.h5` store.

    Args:
        target: A path (written atomically: nothing appears at the path until `close()`
            succeeds) or a writable, seekable binary file object (the caller owns it;
            the HDF5 data starts at its position 0).

    After `close()`, `size` is the file's length and `crc32` its CRC-32 (computed from
    the bytes as they were written, without reading them back).

    Example:
        >>> with H5Writer("model.weights.h5") as w:
        ...     w.put("layers/dense", [kernel, bias], name="d1")
        ...     w.put("", [], name="model")   # the empty top-level `/vars` group
    """

    def __init__(self, target):
        self._atomic = None
        if isinstance(target, (str, os.PathLike)):
            self._atomic = atomic_write(target)
            fileobj = self._atomic.__enter__()
            self._setup(_FdSink(fileobj.fileno(), 0))
        else:
            self._setup(_FileSink(target))

    @classmethod
    def in_place(cls, fd, base):
        """A writer whose HDF5 data starts `base` bytes into the file open as `fd`.

        The caller owns the file (for example a `.keras` archive whose weights member
        starts at `base`): `close()` only finishes the HDF5 data.
        """
        writer = cls.__new__(cls)
        writer._atomic = None
        writer._setup(_FdSink(fd, base))
        return writer

    def _setup(self, sink):
        self._sink = sink
        self._tree = FileTree()
        self._groups = {}
        self._cursor = SUPERBLOCK_SIZE
        self._crc = 0  # of the bytes from SUPERBLOCK_SIZE to the cursor
        self._open = True
        self.total_bytes = 0
        self.size = self.crc32 = None

    def _advance(self, position):
        """Accounts for the zero bytes between the cursor and `position` in the CRC."""
        gap = position - self._cursor
        if gap > 0:
            self._crc = zlib.crc32(bytes(gap), self._crc)
        self._cursor = max(self._cursor, position)

    def ensure_group(self, path, name=None):
        """Creates (if needed) the `vars` group for `path`, setting its `name`; returns a
        handle for `write_array`."""
        key = vars_group(path)
        node = self._groups.get(key)
        if node is None:
            node = self._groups[key] = self._tree.group(key.split("/"))
        if name is not None:
            self._tree.set_attr(node, "name", str(name))
        return key

    def write_dataset(self, group, index, value):
        """Writes one variable as dataset `str(index)` of `group`; returns its size in bytes."""
        return self.write_array(group, index, *to_storable(value))

    def write_array(self, group, index, array, is_bf16=False):
        """Writes an array already converted by `to_storable`; returns its size in bytes."""
        if not self._open:
            raise ValueError("This H5Writer is closed.")
        node, key = self._groups[group], str(index)
        if key.encode("utf-8") in node.children:
            raise ValueError(f"Dataset /{group}/{key} was already written; each variable "
                             "must be stored once.")
        nbytes = array.nbytes
        offset = UNDEF
        if nbytes:
            offset = -(-self._cursor // DATA_ALIGNMENT) * DATA_ALIGNMENT
            data = memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
            self._sink.write(data, offset)
            self._advance(offset)
            self._crc = zlib.crc32(data, self._crc)
            self._cursor = offset + nbytes
        self._tree.add_dataset(node, key, array.shape, array.dtype, offset, nbytes,
                               {"dtype": "bfloat16"} if is_bf16 else None)
        self.total_bytes += nbytes
        return nbytes

    def put(self, path, arrays, name=None):
        """Stores `arrays` (torch tensors or numpy arrays) under `<path>/vars` as "0", "1", ...

        An empty list creates just the (named) group, as Keras does for layers without
        variables.
        """
        group = self.ensure_group(path, name)
        for index, value in enumerate(arrays):
            self.write_dataset(group, index, value)

    def _finish(self):
        start = (self._cursor + 7) & ~7
        superblock, metadata = self._tree.encode(start)
        self._sink.write(metadata, start)
        self._sink.write(superblock, 0)
        self._advance(start)
        self._crc = zlib.crc32(metadata, self._crc)
        self.size = start + len(metadata)
        self.crc32 = crc32_combine(zlib.crc32(superblock), self._crc,
                                   self.size - SUPERBLOCK_SIZE)

    def close(self):
        """Finishes the file (and, for a path target, publishes it atomically)."""
        if not self._open:
            return
        self._open = False
        try:
            self._finish()
        except BaseException as err:
            self._abort(err)
            raise
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(None, None, None)

    def abort(self):
        """Discards everything written; a path target keeps its previous content."""
        self._open = False
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
