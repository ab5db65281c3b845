"""The Keras 3 `.weights.h5` variable store: plain lists of tensors under object paths.

Layout (keras-format.md §4.1): each saveable object at path `P` keeps its variables in
group `P/vars` (the top-level object in `/vars`), as datasets named `"0"`, `"1"`, ... in
variable order; the group's attribute `name` holds the object's name. Datasets are
contiguous and uncompressed. bfloat16 is stored as a 2-byte opaque type with dataset
attribute `dtype="bfloat16"`.

These classes know nothing about layers: they map store paths (`"layers/dense"`) to
lists of arrays. `H5Reader` validates the whole file on open (see `h5_validation`), which
also tells it where every variable's bytes are; reads then copy those bytes straight into
preallocated torch tensors with positioned reads, without h5py. The writer lives in
`h5_writer` and is re-exported here.
"""

import io
import os

import h5py
import torch

from kiln.errors import FileFormatError, WeightsMismatchError
from kiln.saving.h5_validation import DatasetInfo, read_small_string_attr, scan_h5_file
from kiln.saving.h5_writer import (_NUMPY_NAMES, _TORCH_DTYPES, _TORCH_NAMES, H5Writer,
                                   to_storable, vars_group)
from kiln.saving.span_io import Digest, FileWindow, fileno_or_none, fill_spans

__all__ = ["H5Writer", "H5Reader", "ShardedH5Writer", "ShardedH5Reader", "vars_group",
           "to_storable"]

_ = (_TORCH_DTYPES, to_storable)  # re-exported for h5_sharded and older imports


def _group_label(path):
    return f"/{path}/vars" if path else "/vars"


def _byte_view(tensor):
    """A writable uint8 memoryview over a CPU contiguous tensor's storage."""
    tensor = tensor.data  # as detach(), without a trip through the dispatcher
    if _TORCH_NAMES.get(tensor.dtype) in _NUMPY_NAMES:  # ~1.5 µs; reshape and view: ~45
        return memoryview(tensor.numpy()).cast("B")
    return memoryview(tensor.reshape(-1).view(torch.uint8).numpy())  # bfloat16 and the like


def _native_name(fileobj, path):
    """The name under which libhdf5 may open the file behind `fileobj`, or None."""
    fd = fileno_or_none(fileobj)
    if fd is None:
        return path
    proc = f"/proc/self/fd/{fd}"
    return proc if os.path.exists(proc) else path


def _native_candidate(offset, length, size):
    """Whether h5py may open the file itself: the whole file, or data that starts at a
    power of two >= 512 (where HDF5 looks for a superblock after a user block)."""
    return (offset == 0 and length == size) or (offset >= 512 and offset & (offset - 1) == 0)


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
        self._pending = None
        self._variables = {}
        self._ordered_cache = {}
        offset, length = 0, None
        if isinstance(source, tuple):
            source, offset, length = source
        path = None
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            what = what or path
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
            self._window = FileWindow(fileobj, offset, length)
            self.size = length
            base = self._open(_native_name(fileobj, path), offset, length, size)
            self._groups = scan_h5_file(self._h5, length, what, base).groups
        except BaseException:
            self.close()
            raise

    def _open(self, path, offset, length, size):
        """Opens the HDF5 data with h5py; returns where it starts in the file h5py reads.

        h5py reading the file itself (its native driver) is much faster than reading
        through a Python file object, which costs a Python call per metadata read. That
        works for a whole file, and for a member whose data starts where HDF5 finds it on
        its own (kiln aligns the weights member of its archives for this); HDF5 must then
        report the superblock exactly at the member's start. Anything else goes through
        the window.

        Where possible HDF5 opens `/proc/self/fd/<n>` of the descriptor the tensor bytes
        are read from, so that both see the same file even if the path is replaced
        meanwhile.
        """
        if path is not None and _native_candidate(offset, length, size):
            try:
                h5 = h5py.File(path, "r", locking=False)
            except OSError:
                h5 = None  # reported below, through the window
            if h5 is not None:
                if offset == 0 or h5.id.get_create_plist().get_userblock() == offset:
                    self._h5 = h5
                    return offset
                h5.close()
        try:
            self._h5 = h5py.File(self._window, "r")
        except OSError as err:
            raise FileFormatError(f"{self.what} is not a readable HDF5 file ({err}). The file is "
                                  "damaged or not a weights file.") from None
        return 0

    def keys(self):
        """The set of store paths that have a `vars` group (`""` is the top-level object)."""
        return set(self._groups)

    def __contains__(self, path):
        return path in self._groups

    def variables(self, path):
        """Returns `{index: DatasetInfo}` for the `vars` group of `path` (None if absent).

        Raises FileFormatError if the group holds anything but datasets named 0, 1, ...
        """
        found = self._variables.get(path)
        if found is not None or path not in self._groups:
            return found
        found = {}
        for key, member in self._groups[path]:
            where = f"{_group_label(path)}/{key}"
            if not (key.isdigit() and key.isascii() and (key == "0" or key[0] != "0")):
                raise FileFormatError(f"{self.what}: '{where}' is not a variable index; Keras "
                                      "names datasets 0, 1, 2, ...")
            if not isinstance(member, DatasetInfo):
                raise FileFormatError(f"{self.what}: '{where}' is a group, expected a dataset.")
            found[int(key)] = member
        self._variables[path] = found
        return found

    def _ordered(self, path):
        ordered = self._ordered_cache.get(path)
        if ordered is None:
            found = self.variables(path)
            if found is None:
                return None
            if sorted(found) != list(range(len(found))):
                raise FileFormatError(f"{self.what}: the variables of '{vars_group(path)}' are "
                                      f"numbered {sorted(found)}; expected 0..{len(found) - 1}.")
            ordered = self._ordered_cache[path] = [found[i] for i in range(len(found))]
        return ordered

    def group_name(self, path):
        """The `name` attribute of `path`'s `vars` group (the object's Keras name), or None."""
        if path not in self._groups:
            return None
        return read_small_string_attr(self._h5[vars_group(path)], "name")

    def specs(self, path):
        """`[(shape, dtype_name), ...]` of `path`'s variables without reading data; None if absent."""
        infos = self._ordered(path)
        if infos is None:
            return None
        return [(info.shape, info.dtype) for info in infos]

    def get(self, path, as_torch=False):
        """Returns `path`'s variables in index order, or None if the file has no such group.

        Arrays are numpy, except bfloat16 variables which come back as torch tensors (numpy
        has no bfloat16); `as_torch=True` returns torch tensors for everything.
        """
        infos = self._ordered(path)
        if infos is None:
            return None
        outs = [torch.empty(info.shape, dtype=_TORCH_DTYPES[info.dtype]) for info in infos]
        self.read_batch([(path, index, out) for index, out in enumerate(outs)])
        return [out if (as_torch or info.dtype == "bfloat16") else out.numpy()
                for info, out in zip(infos, outs)]

    def read_into(self, path, index, out):
        """Fills the preallocated CPU tensor `out` with variable `index` of `path`.

        Contiguous datasets are read with one positioned read straight into `out`'s memory
        (no intermediate copy); other layouts go through h5py's `read_direct`.

        Raises:
            kiln.errors.WeightsMismatchError: if the variable is missing or its shape/dtype
                differ from `out`'s.
        """
        self.read_batch([(path, index, out)])

    def read_batch(self, items):
        """Fills many tensors at once: `items` is a list of `(path, index, out)`.

        Every target is checked before anything is read. The reads go in file order, with
        neighbouring variables merged into one `preadv`. If a checksum is pending (see
        `expect_checksum`), it is computed over the whole data during these reads.
        """
        spans, slow = [], []
        for path, index, out in items:
            info = self._lookup(path, index)
            where = f"{vars_group(path)}/{index}"
            self._check_target(info, out, where)
            if info.nbytes == 0:
                continue
            if info.direct:
                spans.append((info.offset, _byte_view(out)))
            else:
                slow.append((info, out, where))
        digest = self._pending[0] if self._pending is not None else None
        try:
            fill_spans(self._window, spans, digest)
        except BaseException:
            if digest is not None:
                self._pending = (Digest(digest.algorithm),) + self._pending[1:]
            raise
        if digest is not None:
            self._finish_checksum()
        for info, out, where in slow:
            self._read_slow(info, out, where)

    def _lookup(self, path, index):
        found = self.variables(path)
        if found is None or index not in found:
            where = f"{vars_group(path)}/{index}"
            raise WeightsMismatchError(f"{self.what} has no variable '{where}'.",
                                       [f"{where}  missing from the file"])
        return found[index]

    def _check_target(self, info, out, where):
        if not isinstance(out, torch.Tensor) or out.device.type != "cpu" or not out.is_contiguous():
            raise TypeError(f"read_into needs a contiguous CPU torch tensor for '{where}'. "
                            f"Received: {type(out).__name__}.")
        expected = (tuple(out.shape), _TORCH_NAMES.get(out.dtype))
        if expected != (info.shape, info.dtype):
            line = f"{where}  expected {expected[0]} {expected[1]}, found {info.shape} {info.dtype}"
            raise WeightsMismatchError(f"Variable does not fit in {self.what}: {line}", [line])

    def _read_slow(self, info, out, where):
        """Chunked, compact or big-endian data: h5py converts it."""
        target = out.detach()
        if info.dtype == "bfloat16":
            dest = target.view(torch.int16).numpy().view("V2")
        else:
            dest = target.numpy()
        try:
            self._h5[info.path].read_direct(dest)
        except (OSError, TypeError, ValueError, KeyError) as err:
            raise FileFormatError(f"Could not read '{where}' from {self.what}: {err}.") from None

    # -- checksums ---------------------------------------------------------------------

    def expect_checksum(self, algorithm, expected, on_mismatch):
        """Checks the data's bytes against the hex digest `expected` ("crc32" or "sha256").

        The check runs during the next `read_batch` (for free, in a thread behind the
        reads) or at `verify_checksum()`, whichever comes first; on a mismatch it calls
        `on_mismatch(actual_hex)`, which should raise.
        """
        self._pending = (Digest(algorithm), expected, on_mismatch)

    def verify_checksum(self):
        """Runs a pending checksum check now (a no-op if none is pending)."""
        if self._pending is not None:
            fill_spans(self._window, [], self._pending[0])
            self._finish_checksum()

    def _finish_checksum(self):
        digest, expected, on_mismatch = self._pending
        self._pending = None
        actual = digest.hexdigest()
        if actual != expected:
            on_mismatch(actual)

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
