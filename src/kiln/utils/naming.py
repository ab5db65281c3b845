"""Names: Keras's snake_case rule and per-process unique automatic names."""

import re
import threading

_uids = {}
_lock = threading.Lock()


def to_snake_case(name):
    """`Conv2D` → `conv2d`, `RMSprop` → `rm_sprop`, `ReLU` → `re_lu` (the rule Keras uses)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def get_uid(prefix):
    with _lock:
        _uids[prefix] = _uids.get(prefix, 0) + 1
        return _uids[prefix]


def auto_name(prefix):
    """`dense`, then `dense_1`, `dense_2`, ... within a process (reset by clear_session)."""
    uid = get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def reset_uids():
    with _lock:
        _uids.clear()
