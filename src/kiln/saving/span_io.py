"""Positioned reads of byte spans, optionally checksumming the whole range on the way.

`FileWindow` is a read-only view of bytes `[offset, offset + length)` of a file (for
example the `model.weights.h5` member inside a `.keras` zip). `fill_spans` copies many
spans of it straight into their destinations (tensor memory) with few `preadv` calls,
reading in file order; given a `Digest`, it also hashes every byte of the window in order,
in a second thread that trails the reads, so that verifying a checksum costs little more
than reading the data once (both `preadv` and the hash functions release the GIL).

Freshly allocated tensors are not yet backed by memory: the first write to each 4 KiB
page faults, and for large loads the faults can cost as much as the copy itself (several
times more on some virtual machines). So for large destinations `fill_spans` also runs a
thread that faults them in ahead of the reads (Linux `madvise(MADV_POPULATE_WRITE)`), on
another core, while the reading thread copies.
"""

import hashlib
import io
import os
import queue
import sys
import threading
import zlib

import numpy as np

from kiln.errors import FileFormatError

__all__ = ["Digest", "FileWindow", "fill_spans", "fileno_or_none", "start_writeback", "prefetch",
           "crc32_combine"]

_BATCH_BYTES = 8 * 1024 * 1024  # one preadv reads at most this much ...
_MAX_IOV = 512  # ... into at most this many buffers
_SMALL_GAP = 64 * 1024  # without a digest, gaps up to this size are read to merge calls
_QUEUE = 4  # batches read ahead of the digest thread
_PREFAULT_MIN_BYTES = 64 * 1024 * 1024  # destinations at least this large are faulted in ahead
_PREFAULT_MIN_SPAN = 1024 * 1024  # ... span by span, for spans at least this large
_PREFAULT_STEP = 8 * 1024 * 1024  # bytes per madvise call
_MADV_POPULATE_WRITE = 23
_madvise = None


_SYNC_FILE_RANGE_WAIT_BEFORE = 1
_SYNC_FILE_RANGE_WRITE = 2
_SYNC_FILE_RANGE_WAIT_AFTER = 4
_sync_file_range = None


def fileno_or_none(fileobj):
    """The OS file descriptor behind `fileobj`, or None (in-memory buffers, closed files)."""
    try:
        return fileobj.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _libc_function(name, argtypes):
    """The C library's function `name` (through ctypes, errno kept), or False if missing."""
    try:
        import ctypes
        import ctypes.util

        try:  # the running process's own symbols (libc on Linux): no library search
            function = getattr(ctypes.CDLL(None, use_errno=True), name)
        except (OSError, AttributeError):
            function = getattr(ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True), name)
        function.argtypes = argtypes
        return function
    except (OSError, AttributeError, ImportError, TypeError):
        return False


def start_writeback(fd, offset=0, nbytes=0, wait=False):
    """Asks the kernel to start writing a file's dirty pages to disk now, without waiting
    (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`; `nbytes=0` means to the end).

    With `wait=True` it also waits until those pages are on disk (the data only: this is
    no `fsync`, which must still follow to make the file's metadata durable).

    A save that does this while it is still writing overlaps its writes with the disk,
    so the final `fsync` has little left to wait for. A no-op where unsupported.
    """
    global _sync_file_range
    if _sync_file_range is None:
        import ctypes

        _sync_file_range = _libc_function(
            "sync_file_range", [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint])
    if _sync_file_range:
        flags = _SYNC_FILE_RANGE_WRITE
        if wait:
            flags |= _SYNC_FILE_RANGE_WAIT_BEFORE | _SYNC_FILE_RANGE_WAIT_AFTER
        _sync_file_range(fd, offset, nbytes, flags)


def prefetch(fileobj, offset, length, limit_fraction=0.25):
    """Starts reading bytes [offset, offset + length) of a file into the page cache in a
    background thread (`posix_fadvise(WILLNEED)`), so that a cold load reads the disk
    while it is still parsing the config and building the model.

    Skipped for data larger than `limit_fraction` of physical memory, or where the call
    is unsupported; it is only a hint.
    """
    try:
        fd = fileobj.fileno()
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return
    if not hasattr(os, "posix_fadvise") or length <= 0 or length > memory * limit_fraction:
        return
    fd = os.dup(fd)

    def advise():
        try:
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)

    threading.Thread(target=advise, name="kiln-prefetch", daemon=True).start()


_CRC_POLY = 0xEDB88320  # CRC-32 (zlib), bit-reflected


def _multiply_mod_p(a, b):
    """Product of two polynomials modulo the CRC-32 polynomial (reflected bit order)."""
    product, bit = 0, 1 << 31
    while a:
        if a & bit:
            product ^= b
            a ^= bit
        bit >>= 1
        b = (b >> 1) ^ _CRC_POLY if b & 1 else b >> 1
    return product


_X_POW_2K = [1 << 30]  # x^(2^k) mod p, for k = 0, 1, ...
for _ in range(63):
    _X_POW_2K.append(_multiply_mod_p(_X_POW_2K[-1], _X_POW_2K[-1]))


def crc32_combine(crc1, crc2, length2):
    """CRC-32 of `A + B` from `crc1 = crc32(A)`, `crc2 = crc32(B)` and `len(B)`.

    Example:
        >>> crc32_combine(zlib.crc32(b"ab"), zlib.crc32(b"cd"), 2) == zlib.crc32(b"abcd")
        True
    """
    factor, k, n = 1 << 31, 3, length2  # x^(8 * length2): 8 bits per byte
    while n:
        if n & 1:
            factor = _multiply_mod_p(_X_POW_2K[k % 64], factor)
        n >>= 1
        k += 1
    return _multiply_mod_p(factor, crc1) ^ crc2


class Digest:
    """A running checksum of the algorithms kiln's metadata uses ("crc32", "sha256").

    Example:
        >>> d = Digest("crc32"); d.update(b"abc"); d.hexdigest()
        '352441c2'
    """

    def __init__(self, algorithm):
        if algorithm not in ("crc32", "sha256"):
            raise FileFormatError(f"Unknown checksum algorithm {algorithm!r} in metadata.json.")
        self.algorithm = algorithm
        self._crc = 0
        self._sha = hashlib.sha256() if algorithm == "sha256" else None

    def update(self, data):
        if self._sha is not None:
            self._sha.update(data)
        else:
            self._crc = zlib.crc32(data, self._crc)

    def hexdigest(self):
        return self._sha.hexdigest() if self._sha is not None else f"{self._crc:08x}"


class FileWindow(io.RawIOBase):
    """A read-only file object over bytes [offset, offset + length) of another file (a
    file object, or an OS file descriptor).

    h5py can open it as an HDF5 file; `pread_into`/`preadv_into` fill buffers from
    window positions with positioned reads (no shared file position).
    """

    def __init__(self, fileobj, offset, length):
        super().__init__()
        self._f, self._offset, self._length, self._pos = fileobj, offset, length, 0
        self._fd = fileobj if isinstance(fileobj, int) else fileno_or_none(fileobj)

    @property
    def length(self):
        return self._length

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

    def advise_sequential(self):
        """Tells the kernel the window will be read front to back (larger read-ahead)."""
        if self._fd is not None and hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(self._fd, self._offset, self._length, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass

    def preadv_into(self, views, position):
        """Fills the byte views, back to back, from window position `position`.

        Raises FileFormatError if the window (or the file) ends first.
        """
        total = sum(len(v) for v in views)
        if position < 0 or position + total > self._length:
            raise FileFormatError(f"A read of {total} bytes at {position} runs past the end "
                                  f"of the data ({self._length} bytes); the file is truncated.")
        views = [v for v in views if len(v)]
        where, remaining = self._offset + position, total
        while remaining:
            if self._fd is not None:
                got = os.preadv(self._fd, views, where)
            else:
                self._f.seek(where)
                got = self._f.readinto(views[0])
            if not got:
                raise FileFormatError(f"Unexpected end of file at byte {where}; the file is "
                                      "truncated.")
            where, remaining = where + got, remaining - got
            if remaining:  # a short read: continue after the bytes already filled
                views = skip_bytes(views, got)
        return total

    def pread_into(self, view, position):
        """Fills `view` from window position `position`; raises if the window ends first."""
        return self.preadv_into([view], position)

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._length - self._pos))
        if count:
            self.pread_into(view[:count], self._pos)
        self._pos += count
        return count


def skip_bytes(views, count):
    """The views that remain after the first `count` bytes of `views` (for short reads
    and writes); the first may be cut."""
    done = 0
    while count >= len(views[done]):
        count -= len(views[done])
        done += 1
    rest = views[done:]
    rest[0] = rest[0][count:]
    return rest


def _scratch(n):
    return memoryview(np.empty(n, dtype=np.uint8))


def _batches(spans, length, with_gaps):
    """Splits the sorted, non-overlapping `(position, view)` spans into preadv batches.

    Yields `(position, views)`; consecutive views cover consecutive bytes. Gaps between
    spans are filled with scratch buffers: always when `with_gaps` (a digest needs every
    byte, up to `length`), otherwise only small ones (to merge reads).
    """
    batch, start, end, size = [], 0, 0, 0

    def pieces(position, view):
        for lo in range(0, len(view), _BATCH_BYTES):
            yield position + lo, view[lo:lo + _BATCH_BYTES]

    def gap(position, stop):
        for lo in range(position, stop, _BATCH_BYTES):
            yield lo, _scratch(min(_BATCH_BYTES, stop - lo))

    def items():
        cursor = 0
        for position, view in spans:
            if position > cursor and (with_gaps or position - cursor <= _SMALL_GAP):
                yield from gap(cursor, position)
            yield from pieces(position, view)
            cursor = position + len(view)
        if with_gaps and cursor < length:
            yield from gap(cursor, length)

    for position, view in items():
        if batch and (position != end or size + len(view) > _BATCH_BYTES or len(batch) >= _MAX_IOV):
            yield start, batch
            batch, size = [], 0
        if not batch:
            start = position
        batch.append(view)
        size += len(view)
        end = position + len(view)
    if batch:
        yield start, batch


def _hash_behind(window, batches, digest):
    """Reads the batches in this thread while another thread feeds them to `digest`."""
    work = queue.Queue(maxsize=_QUEUE)
    failure = []

    def consume():
        try:
            while True:
                views = work.get()
                if views is None:
                    return
                for view in views:
                    digest.update(view)
        except BaseException as err:  # reported by the reading thread
            failure.append(err)
            while work.get() is not None:
                pass

    worker = threading.Thread(target=consume, name="kiln-checksum", daemon=True)
    worker.start()
    try:
        for position, views in batches:
            window.preadv_into(views, position)
            work.put(views)
            if failure:
                break
    finally:
        work.put(None)
        worker.join()
    if failure:
        raise failure[0]


def _madvise_function():
    global _madvise
    if _madvise is None:
        import ctypes

        # The advice number is Linux's.
        _madvise = sys.platform.startswith("linux") and _libc_function(
            "madvise", [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int])
    return _madvise


def _address(view):
    return np.frombuffer(view, dtype=np.uint8).ctypes.data


def _prefault_ranges(spans):
    """`(address, length)` runs of whole pages covering the large views of the sorted
    spans, in order, at most `_PREFAULT_STEP` bytes each; empty if the total is small."""
    large = [view for _, view in spans if len(view) >= _PREFAULT_MIN_SPAN]
    if sum(len(view) for view in large) < _PREFAULT_MIN_BYTES:
        return []
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    ranges = []
    for view in large:
        start = _address(view)
        first, end = -(-start // page) * page, (start + len(view)) // page * page
        ranges.extend((lo, min(end, lo + _PREFAULT_STEP) - lo)
                      for lo in range(first, end, _PREFAULT_STEP))
    return ranges


def _prefault(spans):
    """Starts faulting in the large destination views, in the order they will be read,
    in a helper thread; returns a function that stops it and waits for it (or None).

    Only a hint: where `MADV_POPULATE_WRITE` is missing (not Linux, or a kernel before
    5.14) nothing happens, and the reads fault the pages in themselves.
    """
    ranges = _prefault_ranges(spans)
    if not ranges or not _madvise_function():
        return None
    stop = threading.Event()

    def run():
        for address, length in ranges:
            if stop.is_set() or _madvise(address, length, _MADV_POPULATE_WRITE) != 0:
                return  # stopped, or unsupported here

    thread = threading.Thread(target=run, name="kiln-prefault", daemon=True)
    thread.start()

    def finish():
        stop.set()
        thread.join()

    return finish


def fill_spans(window, spans, digest=None):
    """Copies each `(position, writable byte view)` span of `window` into its view.

    Reads go in file order, merging neighbouring spans into one `preadv`. With a `Digest`,
    every byte of the window (spans and the gaps between them) is hashed in order; the
    hashing runs in a helper thread behind the reads. Overlapping spans are allowed (a
    damaged or hostile file): they are then read one by one, and the digest, if any, is
    computed in a separate pass.

    Example:
        >>> out = torch.empty(4, 3)
        >>> fill_spans(window, [(info.offset, memoryview(out.numpy()).cast("B"))])
    """
    spans = sorted(spans, key=lambda span: span[0])
    finish_prefault = _prefault(spans)
    try:
        overlapping = any(a[0] + len(a[1]) > b[0] for a, b in zip(spans, spans[1:]))
        if overlapping:
            for position, view in spans:
                window.pread_into(view, position)
            spans = []
        if digest is None:
            for position, views in _batches(spans, window.length, with_gaps=False):
                window.preadv_into(views, position)
            return
        window.advise_sequential()
        _hash_behind(window, _batches(spans, window.length, with_gaps=True), digest)
    finally:
        if finish_prefault is not None:
            finish_prefault()
