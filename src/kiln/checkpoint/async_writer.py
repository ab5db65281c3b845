"""`AsyncWriter`: checkpoint file I/O on a background thread, one write at a time.

The training thread only copies the tensors to save into host buffers (a memcpy, or a
device-to-host copy) and returns; a background thread writes the files. The buffers are
kept and reused by the next save, so after the first save the copy writes into memory
that is already mapped (about 4x faster than into fresh memory). At most one write is in
flight: the next save first waits for it. An error in the background surfaces at the
next `submit()` or `wait()` (ModelCheckpoint waits at the end of `fit`).

With `snapshot(..., defer=True)` (ModelCheckpoint inside `fit`) even the copy of the large
tensors leaves the training thread: a helper thread copies them while training goes on,
and `kiln.core.write_guard` holds back any write to a tensor until its copy is done.
"""

import concurrent.futures
import os
import threading
import weakref

import numpy as np
import torch

from kiln.core import write_guard

_active = weakref.WeakSet()
_active_lock = threading.Lock()


_CHUNK = 16 * 2**20
_DEFER_BYTES = 2**20  # with defer=True, tensors this large are copied in the background
_pool = None


def _bytes(tensor):
    return tensor.reshape(-1).view(torch.uint8).numpy()


def _memcpy(pairs):
    """Copies `[(destination, source)]` byte arrays, in parallel chunks when large.

    Plain numpy memcpy (it releases the GIL) on a small thread pool: torch's `copy_`
    spreads each copy over its intra-op threads, which is several times slower when the
    cores are busy, as they are during training.
    """
    global _pool
    total = sum(src.size for _, src in pairs)
    workers = min(4, os.cpu_count() or 1)
    if total < 4 * _CHUNK or workers < 2:
        for dst, src in pairs:
            np.copyto(dst, src)
        return
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(workers, "kiln-snapshot")
    jobs = [_pool.submit(np.copyto, dst[i:i + _CHUNK], src[i:i + _CHUNK])
            for dst, src in pairs for i in range(0, src.size, _CHUNK)]
    for job in jobs:
        job.result()


def wait_all():
    """Waits for every in-flight background write of this process (errors stay pending)."""
    with _active_lock:
        writers = list(_active)
    for writer in writers:
        writer.wait(raise_errors=False)


class AsyncWriter:
    """Runs one background write at a time and reports its errors later.

    Example:
        >>> writer = AsyncWriter()
        >>> snapshot = writer.snapshot({"w": model_tensor})
        >>> writer.submit(write_files, snapshot)   # returns at once
        >>> writer.wait()                          # raises if the write failed
    """

    def __init__(self):
        self._thread = None
        self._error = None
        self._buffers = {}
        self._copying = None  # the helper thread of a deferred snapshot copy
        self._lock = threading.Lock()
        with _active_lock:
            _active.add(self)

    def snapshot(self, tensors, defer=False):
        """Copies `{key: tensor}` into reusable CPU buffers; returns `{key: copy}`.

        Waits for the previous write first, since its buffers are about to be reused.
        With `defer`, tensors of 1 MiB and more are copied by a helper thread after this
        returns, and writes to them through kiln (`Variable.assign*`, `Optimizer.apply`)
        wait until their copy is done; the next `submit()` starts writing only then. Only
        use it when nothing writes the tensors behind kiln's back (a torch optimizer, say).
        """
        self.wait(raise_errors=False)
        out, copies, deferred, sources = {}, [], [], []
        with torch.no_grad():
            for key, tensor in tensors.items():
                tensor = tensor.detach()
                buffer = self._buffers.get(key)
                if (buffer is None or buffer.shape != tensor.shape
                        or buffer.dtype != tensor.dtype):
                    buffer = torch.empty(tensor.shape, dtype=tensor.dtype)
                if tensor.device.type == "cpu" and tensor.is_contiguous():
                    pair = (_bytes(buffer), _bytes(tensor))
                    if defer and pair[1].size >= _DEFER_BYTES:
                        deferred.append(pair)
                        sources.append(tensor)
                    else:
                        copies.append(pair)
                else:
                    buffer.copy_(tensor)  # device-to-host
                out[key] = buffer
        _memcpy(copies)
        self._buffers = out
        if deferred:
            self._start_copy(deferred, sources)
        return out

    def _start_copy(self, pairs, sources):
        done = write_guard.hold(sources)

        def copy():
            try:
                _memcpy(pairs)
            except BaseException as err:  # reported like a failed write
                err.add_note("(raised while copying a checkpoint snapshot in the background)")
                self._error = err
            finally:
                write_guard.release(done)

        thread = threading.Thread(target=copy, name="kiln-snapshot-copy", daemon=True)
        self._copying = thread
        thread.start()

    def _wait_for_copy(self):
        thread, self._copying = self._copying, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def prepare(self, tensors):
        """Allocates (and touches) snapshot buffers for `{key: tensor}` in the background.

        The first snapshot into fresh memory pays for page faults, about as long as the
        copy itself; calling this well before the first save (ModelCheckpoint does it after
        the first training batch) takes that cost off the training thread.
        """
        spec = {key: (tuple(t.shape), t.dtype) for key, t in tensors.items()}

        def allocate():
            buffers = {}
            for key, (shape, dtype) in spec.items():
                buffer = self._buffers.get(key)
                if buffer is None or tuple(buffer.shape) != shape or buffer.dtype != dtype:
                    buffer = torch.empty(shape, dtype=dtype)
                    _bytes(buffer).fill(0)
                buffers[key] = buffer
            self._buffers = buffers

        self.submit(allocate, description="snapshot buffers")

    def submit(self, fn, *args, description="checkpoint"):
        """Runs `fn(*args)` in the background after the previous write has finished.

        Raises the previous write's error, if it failed, before starting a new one.
        """
        copying, self._copying = self._copying, None  # joined by the write, not here
        self.wait()

        def run():
            try:
                if copying is not None:
                    copying.join()  # the snapshot must be complete before it is written
                if self._error is not None:
                    return  # the copy failed; its error is reported instead
                fn(*args)
            except BaseException as err:  # reported to the training thread later
                err.add_note(f"(raised while writing {description} in the background)")
                self._error = err

        thread = threading.Thread(target=run, name="kiln-checkpoint-writer", daemon=False)
        with self._lock:
            self._thread = thread
        thread.start()

    @property
    def busy(self):
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wait(self, raise_errors=True):
        """Blocks until the in-flight write (if any) is done; re-raises its error."""
        self._wait_for_copy()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            with self._lock:
                if self._thread is thread:
                    self._thread = None
        if raise_errors and self._error is not None:
            err, self._error = self._error, None
            raise err

    def release(self):
        """Waits, then frees the snapshot buffers (they are otherwise kept for reuse)."""
        self.wait(raise_errors=False)
        self._buffers = {}
