"""Writes a file's data region in order, computing its CRC-32 on the way.

`H5Writer` streams tensor bytes into the data region of the file it writes (each tensor
at a given offset, in increasing order; the gaps between them are zeros) and needs the
CRC-32 of the finished region for the zip header. Two sinks:

* `FdSink` (a file descriptor): pieces are gathered into batches of up to 32 MiB that are
  written with one `pwritev` each by one helper thread, after which a second helper
  thread computes the batch's CRC, both behind the thread that walks the model (`pwritev`,
  `preadv` and `zlib.crc32` release the GIL). The walking thread may run up to 256 MiB
  ahead of them, so that for most models it is soon free to build the config and the
  file's metadata while the tensors are still being written (pieces are mostly views of
  the tensors' own memory; the bound limits the copies, e.g. of GPU tensors, held at
  once).
  The helpers hold the GIL as little as possible, and take it back as few times as
  possible, because each time a helper wants it back from the busy walking thread it may
  wait out a whole switch interval: with 8 MiB batches and a CRC call per piece, a
  1,000-layer model's writes lagged its config by 0.1 s or more. So the batches are
  large; a batch of many small pieces is checksummed by reading the just-written range
  back from the page cache into one buffer (one `preadv` and one CRC call, neither holding
  the GIL) rather than piece by piece or by joining the pieces under the GIL; and while
  the helpers run, the interpreter's switch interval is lowered to 0.5 ms (restored when
  the last sink finishes).
  Every 32 MiB the kernel is asked to start writing to disk, and when the writer has
  caught up with the walking thread it waits for the disk, so the final `fsync` has
  little left to do.
* `FileSink` (any seekable file object): written and checksummed in place.

Example:
    >>> sink = FdSink(fd, base=512)
    >>> sink.stream(96, memoryview(b""))        # the region starts at 96
    >>> sink.stream(128, memoryview(tensor_bytes))
    >>> crc_of_region = sink.finish()           # CRC of bytes [96, sink.end)
    >>> sink.write(metadata, metadata_offset)   # plain positioned write
"""

import os
import queue
import sys
import threading
import zlib

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no read-back; many-piece batches are joined instead
    fcntl = None

from kiln.saving.span_io import FileWindow, skip_bytes, start_writeback

__all__ = ["FdSink", "FileSink"]

_BATCH_BYTES = 32 * 1024 * 1024
_MAX_AHEAD_BYTES = 256 * 1024 * 1024  # queued for the helper threads (see module docstring)
_MAX_IOV = min(1024, os.sysconf("SC_IOV_MAX")) if hasattr(os, "sysconf") else 512
_MAX_WRITE = 1 << 30
_MAX_FILE = 1 << 62  # a bound for windows over the file being written
_WRITEBACK_EVERY = 32 * 1024 * 1024
_JOIN_PIECES = 8  # batches with more pieces are checksummed from one buffer
_HANDOFF_INTERVAL = 0.0005  # seconds; the switch interval while helper threads run

_handoff_lock = threading.Lock()
_handoff_users = 0
_handoff_saved = None


def _begin_quick_handoffs():
    """Lowers the interpreter's switch interval while at least one sink's helpers run,
    so a helper returning from a GIL-free call gets the GIL back within 0.5 ms instead
    of 5 ms. Concurrent sinks share one saved value, which the last `_end_quick_handoffs`
    restores."""
    global _handoff_users, _handoff_saved
    with _handoff_lock:
        if _handoff_users == 0:
            _handoff_saved = sys.getswitchinterval()
            if _handoff_saved > _HANDOFF_INTERVAL:
                sys.setswitchinterval(_HANDOFF_INTERVAL)
        _handoff_users += 1


def _end_quick_handoffs():
    global _handoff_users
    with _handoff_lock:
        _handoff_users -= 1
        if _handoff_users == 0:
            sys.setswitchinterval(_handoff_saved)


def _readable(fd):
    """Whether `fd` was opened for reading too (then written bytes can be read back)."""
    try:
        return fcntl is not None and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
    except (OSError, ValueError):
        return False


def _pwritev_all(fd, views, offset):
    """Writes the views back to back from `offset`, handling short writes."""
    views = [v for v in views if len(v)]
    remaining = sum(len(v) for v in views)
    while remaining:
        written = os.pwritev(fd, views, offset) if len(views) > 1 else \
            os.pwrite(fd, views[0][:_MAX_WRITE], offset)
        offset, remaining = offset + written, remaining - written
        if remaining:  # a short write: continue after the bytes already written
            views = skip_bytes(views, written)


class _Stream:
    """Common part: cuts the ordered pieces into contiguous batches (zeros in gaps)."""

    def __init__(self, checksum=True):
        self.checksum = checksum
        self._batch, self._batch_start, self._batch_bytes = [], None, 0
        self._end = None  # end of the last piece streamed
        self._crc = 0
        self._finishing = False

    def stream(self, offset, view):
        """Queues `view` (a byte memoryview that stays valid until `finish`) at `offset`."""
        if self._end is None:
            self._end = self._batch_start = offset
        if offset < self._end:
            raise ValueError(f"Pieces must come in increasing offsets; {offset} < {self._end}.")
        if offset > self._end:
            self._add(memoryview(bytes(offset - self._end)))
        for lo in range(0, len(view), _BATCH_BYTES):
            self._add(view[lo:lo + _BATCH_BYTES])
        self._end = offset + len(view)

    def _add(self, piece):
        if self._batch and (self._batch_bytes + len(piece) > _BATCH_BYTES
                            or len(self._batch) >= _MAX_IOV):
            self._flush()
        self._batch.append(piece)
        self._batch_bytes += len(piece)

    def _flush(self):
        if self._batch:
            start = self._batch_start
            self._batch_start += self._batch_bytes
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._emit(start, batch)

    @property
    def end(self):
        """Where the last piece streamed ends (None before the first)."""
        return self._end

    def finish(self):
        """Writes everything queued; returns the CRC-32 of all bytes streamed, from the
        first piece's offset to `end` (gaps count as zeros), or None without `checksum`."""
        self._finishing = True
        self._flush()
        self._drain()
        return self._crc if self.checksum else None

    def _drain(self):
        pass


class FileSink(_Stream):
    """Writes to a seekable binary file object, checksumming as it goes."""

    def __init__(self, fileobj, checksum=True):
        super().__init__(checksum)
        self.fileobj = fileobj

    def write(self, data, offset):
        self.fileobj.seek(offset)
        view = memoryview(data)
        while len(view):
            written = self.fileobj.write(view)
            view = view[written if written is not None else len(view):]

    def _emit(self, start, batch):
        for piece in batch:
            self.write(piece, start)
            if self.checksum:
                self._crc = zlib.crc32(piece, self._crc)
            start += len(piece)

    def abort(self):
        pass


class FdSink(_Stream):
    """Positioned writes to a file descriptor, `base` bytes into the file; see the module
    docstring."""

    def __init__(self, fd, base, checksum=True):
        super().__init__(checksum)
        self.fd, self.base = fd, base
        self._unsynced = 0
        self._threads = None
        self._failure = []

    def write(self, data, offset):
        _pwritev_all(self.fd, [memoryview(data)], self.base + offset)
        self._kick(len(data))

    def _kick(self, nbytes):
        self._unsynced += nbytes
        if self._unsynced >= _WRITEBACK_EVERY:
            start_writeback(self.fd)
            self._unsynced = 0

    def _emit(self, start, batch):
        if self._failure:
            raise self._failure[0]
        if self._threads is None and self._finishing:  # everything fit in one batch
            _pwritev_all(self.fd, batch, self.base + start)
            for piece in batch if self.checksum else ():
                self._crc = zlib.crc32(piece, self._crc)
            return
        if self._threads is None:
            self._start_threads()
        self._threads[0][0].put((start, batch))  # the writer; it passes batches to the CRC

    def _start_threads(self):
        def run(work, job, when_idle):
            try:
                while True:
                    item = work.get()
                    if item is None:
                        return
                    job(*item)
                    if when_idle is not None and work.empty():
                        when_idle()
            except BaseException as err:  # reported to the writing thread
                self._failure.append(err)
                while work.get() is not None:
                    pass

        def write(start, batch):
            _pwritev_all(self.fd, batch, self.base + start)
            self._kick(sum(len(piece) for piece in batch))
            if checked is not None:  # its CRC may now read the batch back
                checked.put((start, batch))

        def wait_for_disk():
            # Caught up with the walking thread, which is likely building the config or
            # has more Python work per tensor than the disk has bytes: wait here, off its
            # path, until what is written is on disk.
            start_writeback(self.fd, wait=True)
            self._unsynced = 0

        scratch = memoryview(b"")

        def checksum(start, batch):
            nonlocal scratch
            if len(batch) > _JOIN_PIECES:
                # Many small pieces: one buffer and one call instead of a call per piece,
                # each of which would take the GIL back from the walking thread.
                size = sum(len(piece) for piece in batch)
                if written is not None:
                    if len(scratch) < size:
                        scratch = memoryview(np.empty(max(size, _BATCH_BYTES), np.uint8))
                    written.pread_into(scratch[:size], start)
                    batch = [scratch[:size]]
                else:
                    batch = [b"".join(batch)]
            crc = self._crc
            for piece in batch:
                crc = zlib.crc32(piece, crc)
            self._crc = crc

        # What the writer wrote, to read back (if the descriptor is open for reading).
        written = FileWindow(self.fd, self.base, _MAX_FILE - self.base) if _readable(self.fd) \
            else None
        # The CRC keeps up with the writer (it is faster than a write), so its queue is short.
        checked = queue.Queue(maxsize=2) if self.checksum else None
        _begin_quick_handoffs()
        self._threads = []
        jobs = [("kiln-write", queue.Queue(maxsize=_MAX_AHEAD_BYTES // _BATCH_BYTES), write,
                 wait_for_disk)]
        if self.checksum:  # fed by the writer, batch by batch, once written
            jobs.append(("kiln-crc", checked, checksum, None))
        for name, work, job, when_idle in jobs:
            thread = threading.Thread(target=run, args=(work, job, when_idle), name=name,
                                      daemon=True)
            thread.start()
            self._threads.append((work, thread))

    def _drain(self):
        if self._threads is not None:
            try:
                for work, thread in self._threads:  # the writer first: it feeds the CRC
                    work.put(None)
                    thread.join()
            finally:
                self._threads = None
                _end_quick_handoffs()
        if self._failure:
            raise self._failure[0]

    def abort(self):
        """Stops the helper threads without raising."""
        try:
            self._drain()
        except BaseException:
            pass
