"""Holds writes to variables back while a background snapshot is still copying them.

`ModelCheckpoint(async_save=True)` does not make `fit` wait while a checkpoint's tensors
are copied: the copy runs on a helper thread while the next training step computes its
forward and backward passes, which only read the weights. Everything in kiln that writes
a variable's storage passes through `before_write` first (`Variable.assign*`, and
`Optimizer.apply` for the update of all its variables), so a write waits until the copy
of that tensor is done and the snapshot holds exactly the values of the moment of the
save.

Writes that bypass kiln (a torch optimizer stepping the parameters, `load_state_dict`,
in-place torch ops on `variable.value`) are not held back, which is why only
`ModelCheckpoint` inside `fit` defers its copies; elsewhere snapshots are copied before
the save call returns.

Example:
    >>> done = write_guard.hold([big_tensor])   # a helper thread copies big_tensor...
    >>> write_guard.release(done)               # ...and releases it when finished
    >>> write_guard.before_write(big_tensor)    # returns at once once released
"""

import threading
import time

__all__ = ["hold", "release", "before_write", "waited_seconds"]

_lock = threading.Lock()
_held = {}  # data_ptr of a tensor being copied -> the Event set when its copy is done
_waited = [0.0]


def hold(tensors):
    """Marks `tensors` as being copied; returns the token to pass to `release`."""
    done = threading.Event()
    with _lock:
        for tensor in tensors:
            _held[tensor.data_ptr()] = done
    return done


def release(done):
    """Ends a hold: every write waiting on it goes ahead."""
    with _lock:
        for ptr in [p for p, event in _held.items() if event is done]:
            del _held[ptr]
    done.set()


def before_write(tensor=None):
    """Waits until `tensor` (None: every held tensor) may be written."""
    if not _held:  # the common case: nothing is being copied
        return
    with _lock:
        if tensor is None:
            events = set(_held.values())
        else:
            event = _held.get(tensor.data_ptr())
            events = {event} if event is not None else set()
    if events:
        start = time.perf_counter()
        for event in events:
            event.wait()
        _waited[0] += time.perf_counter() - start


def waited_seconds():
    """Total time writers of this process have waited here (for benchmarks)."""
    return _waited[0]
