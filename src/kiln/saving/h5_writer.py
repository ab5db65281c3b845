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
from kiln.saving.span_io import crc32_combine
from kiln.saving.write_stream import FdSink, FileSink

__all__ = ["H5Writer", "to_storable", "vars_group"]

_TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "uint16": torch.uint16,
    "uint32": torch.uint32, "uint64": torch.uint64, "bool": torch.bool,
}
_TORCH_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
_NUMPY_NAMES = frozenset(_TORCH_DTYPES) - {"bfloat16"}


def vars_group(path):
    """Returns the HDF5 group name for a store path: `"layers/dense"` -> `"layers/dense/vars"`."""
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise ValueError(f"Store paths look like 'layers/dense' (no leading, trailing or double "
                         f"slash). Received: path={path!r}")
    return f"{path}/vars" if path else "vars"


def _as_numpy(tensor, name):
    if name == "bfloat16":
        return tensor.view(torch.int16).numpy().view("V2")
    return tensor.numpy()


def to_storable(value):
    """Returns `(numpy_array, is_bfloat16)` ready for h5py (always C-contiguous), without
    copying when possible.

    CPU contiguous torch tensors are viewed, not copied (`tensor.numpy()`); bfloat16 is
    reinterpreted as opaque 2-byte `|V2` records, exactly what Keras writes.

    Example:
        >>> to_storable(torch.zeros(2, dtype=torch.bfloat16))[0].dtype
        dtype('V2')
    """
    if isinstance(value, torch.Tensor):
        # `.data` is the same autograd-free view as `.detach()`, but detach() releases the
        # GIL, and taking it back behind the writer threads costs tens of µs per tensor.
        # For the same reason the conversions below run only when they have work to do.
        tensor = value.data
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        if not tensor.is_contiguous():
            tensor = tensor.contiguous()
        name = _TORCH_NAMES.get(tensor.dtype)
        if name is None:
            raise TypeError(f"Cannot store a torch tensor of dtype {tensor.dtype} in a weights "
                            f"file. Supported dtypes: {sorted(_TORCH_DTYPES)}.")
        try:
            array = _as_numpy(tensor, name)
        except RuntimeError:  # a lazy conjugate or negative view (rare): materialize it
            array = _as_numpy(tensor.resolve_conj().resolve_neg(), name)
        return array, name == "bfloat16"
    array = np.asarray(value)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")  # (np.ascontiguousarray would make scalars 1-d)
    if array.dtype.name == "bfloat16":  # ml_dtypes arrays
        return array.view("V2"), True
    if array.dtype.name not in _NUMPY_NAMES:
        raise TypeError(f"Cannot store an array of dtype {array.dtype} in a weights file. "
                        f"Supported dtypes: {sorted(_TORCH_DTYPES)}.")
    return array, False


class H5Writer:
    """Writes a Keras 3 `.weights.h5` store.

    Args:
        target: A path (written atomically: nothing appears at the path until `close()`
            succeeds) or a writable, seekable binary file object (the caller owns it;
            the HDF5 data starts at its position 0).
        checksum: Compute the file's CRC-32 while writing (for a zip member).

    After `close()`, `size` is the file's length and `crc32` its CRC-32 (computed from
    the bytes as they were written, without reading them back; None without
    `checksum`).

    Example:
        >>> with H5Writer("model.weights.h5") as w:
        ...     w.put("layers/dense", [kernel, bias], name="d1")
        ...     w.put("", [], name="model")   # the empty top-level `/vars` group
    """

    def __init__(self, target, checksum=False):
        self._atomic = None
        if isinstance(target, (str, os.PathLike)):
            self._atomic = atomic_write(target)
            fileobj = self._atomic.__enter__()
            self._setup(FdSink(fileobj.fileno(), 0, checksum))
        else:
            self._setup(FileSink(target, checksum))

    @classmethod
    def in_place(cls, fd, base, checksum=True):
        """A writer whose HDF5 data starts `base` bytes into the file open as `fd`.

        The caller owns the file (for example a `.keras` archive whose weights member
        starts at `base`): `close()` only finishes the HDF5 data.
        """
        writer = cls.__new__(cls)
        writer._atomic = None
        writer._setup(FdSink(fd, base, checksum))
        return writer

    def _setup(self, sink):
        self._sink = sink
        self._sink.stream(SUPERBLOCK_SIZE, memoryview(b""))  # data follows the superblock
        self._tree = FileTree()
        self._groups = {}
        self._open = True
        self.total_bytes = 0
        self.size = self.crc32 = None

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
        """Writes an array already converted by `to_storable` (so C-contiguous); returns
        its size in bytes."""
        if not self._open:
            raise ValueError("This H5Writer is closed.")
        node, key = self._groups[group], str(index)
        if key.encode("utf-8") in node.children:
            raise ValueError(f"Dataset /{group}/{key} was already written; each variable "
                             "must be stored once.")
        nbytes = array.nbytes
        offset = UNDEF
        if nbytes:
            offset = -(-self._sink.end // DATA_ALIGNMENT) * DATA_ALIGNMENT
            # The view keeps `array` alive until the sink has written and checksummed it.
            self._sink.stream(offset, memoryview(array.reshape(-1).view(np.uint8)))
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
        end = self._sink.end
        start = (end + 7) & ~7
        # Encoded while the sink's helper threads may still be writing the tensors.
        superblock, metadata = self._tree.encode(start)
        crc = self._sink.finish()  # of bytes [SUPERBLOCK_SIZE, end)
        self._sink.write(metadata, start)
        self._sink.write(superblock, 0)
        self.size = start + len(metadata)
        if crc is not None:
            crc = zlib.crc32(metadata, zlib.crc32(bytes(start - end), crc))
            self.crc32 = crc32_combine(zlib.crc32(superblock), crc, self.size - SUPERBLOCK_SIZE)

    def close(self):
        """Finishes the file (and, for a path target, publishes it atomically)."""
        if not self._open:
            return
        self._open = False
        try:
            self._finish()
        except BaseException as err:
            self._sink.abort()
            self._abort(err)
            raise
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(None, None, None)

    def abort(self):
        """Discards everything written; a path target keeps its previous content."""
        self._open = False
        self._sink.abort()
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
