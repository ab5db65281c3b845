"""The Keras 3 `.weights.h5` variable store: plain lists of tensors under object paths.

Layout (keras-format.md §4.1): each saveable object at path `P` keeps its variables in
group `P/vars` (the top-level object in `/vars`), as datasets named `"0"`, `"1"`, ... in
variable order; the group's attribute `name` holds the object's name. Datasets are
contiguous and uncompressed. bfloat16 is stored as a 2-byte opaque type with dataset
attribute `dtype="bfloat16"`.

These classes know nothing about layers: they map store paths (`"layers/dense"`) to
lists of arrays. `H5Reader` validates the whole file on open (see `h5_validation`) and
can fill preallocated torch tensors straight from the file bytes.
"""

import io
import math
import os

import h5py
import numpy as np
import torch
from h5py import h5d

from kiln.errors import FileFormatError, WeightsMismatchError
from kiln.saving.atomic import atomic_write
from kiln.saving.h5_validation import dataset_dtype_name, read_small_string_attr, validate_h5_file

__all__ = ["H5Writer", "H5Reader", "ShardedH5Writer", "ShardedH5Reader", "vars_group"]

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


def to_storable(value):
    """Returns `(numpy_array, is_bfloat16)` ready for h5py, without copying when possible.

    CPU contiguous torch tensors are viewed, not copied (`tensor.numpy()`); bfloat16 is
    reinterpreted as opaque 2-byte `|V2` records, exactly what Keras writes.
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
        if isinstance(target, (str, os.PathLike)):
            self._atomic = atomic_write(target)
            fileobj = self._atomic.__enter__()
        else:
            fileobj = target
        try:
            self._file = h5py.File(fileobj, "w")
        except BaseException as err:
            self._abort(err)
            raise
        self.total_bytes = 0

    def ensure_group(self, path, name=None):
        """Creates (if needed) and returns the `vars` group for `path`, setting its `name`."""
        group = self._file.require_group(vars_group(path))
        if name is not None:
            group.attrs["name"] = str(name)
        return group

    def write_dataset(self, group, index, value):
        """Writes one variable as dataset `str(index)` of `group`; returns its size in bytes."""
        return self.write_array(group, index, *to_storable(value))

    def write_array(self, group, index, array, is_bf16=False):
        """Writes an array already converted by `to_storable`; returns its size in bytes."""
        key = str(index)
        if key in group:
            raise ValueError(f"Dataset {group.name}/{key} was already written; each variable "
                             "must be stored once.")
        dset = group.create_dataset(key, data=array)
        if is_bf16:
            dset.attrs["dtype"] = "bfloat16"
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


class _Window(io.RawIOBase):
    """A read-only file object over bytes [offset, offset + length) of another file."""

    def __init__(self, fileobj, offset, length):
        super().__init__()
        self._f, self._offset, self._length, self._pos = fileobj, offset, length, 0
        try:
            self._fd = fileobj.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, pos, whence=0):
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        if base + pos < 0:
            raise ValueError("negative seek position")
        self._pos = base + pos
        return self._pos

    def pread_into(self, view, position):
        """Fills `view` from window position `position`; raises if the window ends first."""
        if position < 0 or position + len(view) > self._length:
            raise FileFormatError(f"A read of {len(view)} bytes at {position} runs past the end "
                                  f"of the data ({self._length} bytes); the file is truncated.")
        done = 0
        while done < len(view):
            where = self._offset + position + done
            if self._fd is not None:
                got = os.preadv(self._fd, [view[done:]], where)
            else:
                self._f.seek(where)
                got = self._f.readinto(view[done:])
            if not got:
                raise FileFormatError(f"Unexpected end of file at byte {where}; the file is "
                                      "truncated.")
            done += got
        return done

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._length - self._pos))
        if count:
            self.pread_into(view[:count], self._pos)
        self._pos += count
        return count


def _byte_view(tensor):
    """A writable uint8 memoryview over a CPU contiguous tensor's storage."""
    return memoryview(tensor.detach().reshape(-1).view(torch.uint8).numpy())


class H5Reader:
    """Reads a `.weights.h5` store after validating the whole file.

    Args:
        source: A path; a binary file object (e.g. `io.BytesIO`); or a tuple
            `(path_or_fileobj, offset, length)` naming an HDF5 file stored uncompressed
            inside another file, such as the `model.weights.h5` member of a `.keras` zip.
        what: Name used in error messages (defaults to the path).
        close_source: Close a file-object `source` when the reader is closed.

    Raises:
        kiln.errors.UnsafeFileError / kiln.errors.FileFormatError on a hostile or damaged
        file (see `h5_validation`).

    Example:
        >>> with H5Reader("model.weights.h5") as r:
        ...     kernel, bias = r.get("layers/dense")
        ...     r.read_into("layers/dense", 0, model_kernel_tensor)
    """

    def __init__(self, source, what=None, close_source=False):
        self._owned = source if close_source else None
        self._h5 = None
        offset, length = 0, None
        if isinstance(source, tuple):
            source, offset, length = source
        if isinstance(source, (str, os.PathLike)):
            what = what or os.fspath(source)
            self._owned = fileobj = open(source, "rb", buffering=0)
            size = os.fstat(fileobj.fileno()).st_size
        else:
            what = what or "the HDF5 weights stream"
            fileobj = source
            size = fileobj.seek(0, io.SEEK_END)
        if length is None:
            length = size - offset
        try:
            if offset < 0 or length < 0 or offset + length > size:
                raise FileFormatError(f"{what}: bytes [{offset}, {offset + length}) lie outside the "
                                      f"file of {size} bytes; the archive is truncated.")
            self.what = what
            self._window = _Window(fileobj, offset, length)
            self.size = length
            try:
                self._h5 = h5py.File(self._window, "r")
            except OSError as err:
                raise FileFormatError(f"{what} is not a readable HDF5 file ({err}). The file is "
                                      "damaged or not a weights file.") from None
            self._paths = validate_h5_file(self._h5, length, what)
        except BaseException:
            self.close()
            raise

    def keys(self):
        """The set of store paths that have a `vars` group (`""` is the top-level object)."""
        return set(self._paths)

    def __contains__(self, path):
        return path in self._paths

    def indexed_datasets(self, path):
        """Returns `{index: h5py.Dataset}` for the `vars` group of `path` (None if absent)."""
        if path not in self._paths:
            return None
        group = self._h5[vars_group(path)]
        found = {}
        for key in group.keys():
            if not (key.isdigit() and key.isascii() and (key == "0" or key[0] != "0")):
                raise FileFormatError(f"{self.what}: '{group.name}/{key}' is not a variable "
                                      "index; Keras names datasets 0, 1, 2, ...")
            item = group[key]
            if not isinstance(item, h5py.Dataset):
                raise FileFormatError(f"{self.what}: '{group.name}/{key}' is a group, expected a "
                                      "dataset.")
            found[int(key)] = item
        return found

    def _ordered(self, path):
        found = self.indexed_datasets(path)
        if found is None:
            return None
        if sorted(found) != list(range(len(found))):
            raise FileFormatError(f"{self.what}: the variables of '{vars_group(path)}' are "
                                  f"numbered {sorted(found)}; expected 0..{len(found) - 1}.")
        return [found[i] for i in range(len(found))]

    def group_name(self, path):
        """The `name` attribute of `path`'s `vars` group (the object's Keras name), or None."""
        if path not in self._paths:
            return None
        return read_small_string_attr(self._h5[vars_group(path)], "name")

    def specs(self, path):
        """`[(shape, dtype_name), ...]` of `path`'s variables without reading data; None if absent."""
        datasets = self._ordered(path)
        if datasets is None:
            return None
        return [(tuple(d.shape), dataset_dtype_name(d)[0]) for d in datasets]

    def get(self, path, as_torch=False):
        """Returns `path`'s variables in index order, or None if the file has no such group.

        Arrays are numpy, except bfloat16 variables which come back as torch tensors (numpy
        has no bfloat16); `as_torch=True` returns torch tensors for everything.
        """
        datasets = self._ordered(path)
        if datasets is None:
            return None
        values = []
        for index, dset in enumerate(datasets):
            name = dataset_dtype_name(dset)[0]
            out = torch.empty(tuple(dset.shape), dtype=_TORCH_DTYPES[name])
            self._fill(dset, out, f"{vars_group(path)}/{index}")
            values.append(out if (as_torch or name == "bfloat16") else out.numpy())
        return values

    def read_into(self, path, index, out):
        """Fills the preallocated CPU tensor `out` with variable `index` of `path`.

        Contiguous datasets are read with one positioned read straight into `out`'s memory
        (no intermediate copy); other layouts go through h5py's `read_direct`.

        Raises:
            kiln.errors.WeightsMismatchError: if the variable is missing or its shape/dtype
                differ from `out`'s.
        """
        found = self.indexed_datasets(path)
        where = f"{vars_group(path)}/{index}"
        if found is None or index not in found:
            raise WeightsMismatchError(f"{self.what} has no variable '{where}'.",
                                       [f"{where}  missing from the file"])
        self._fill(found[index], out, where)

    def _fill(self, dset, out, where):
        name, little = dataset_dtype_name(dset)
        shape = tuple(dset.shape)
        if not isinstance(out, torch.Tensor) or out.device.type != "cpu" or not out.is_contiguous():
            raise TypeError(f"read_into needs a contiguous CPU torch tensor for '{where}'. "
                            f"Received: {type(out).__name__}.")
        expected = (tuple(out.shape), _TORCH_NAMES.get(out.dtype))
        if expected != (shape, name):
            line = f"{where}  expected {expected[0]} {expected[1]}, found {shape} {name}"
            raise WeightsMismatchError(f"Variable does not fit in {self.what}: {line}", [line])
        nbytes = math.prod(shape) * dset.id.get_type().get_size()
        if nbytes == 0:
            return
        dsid = dset.id
        offset = dsid.get_offset() if dsid.get_create_plist().get_layout() == h5d.CONTIGUOUS else None
        if offset is not None and little and dsid.get_storage_size() == nbytes:
            self._window.pread_into(_byte_view(out), offset)
            return
        target = out.detach()
        if name == "bfloat16":
            dest = target.view(torch.int16).numpy().view("V2")
        else:
            dest = target.numpy()
        try:
            dset.read_direct(dest)
        except (OSError, TypeError, ValueError) as err:
            raise FileFormatError(f"Could not read '{where}' from {self.what}: {err}.") from None

    def close(self):
        if self._h5 is not None:
            try:
                self._h5.close()
            finally:
                self._h5 = None
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def __getattr__(name):
    # The sharded store lives in its own module (file size); re-exported lazily here.
    if name in ("ShardedH5Writer", "ShardedH5Reader"):
        from kiln.saving import h5_sharded

        return getattr(h5_sharded, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
