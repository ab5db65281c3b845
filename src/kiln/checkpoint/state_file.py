"""The `checkpoint` state file: which checkpoint in a folder is the latest, and which are kept.

It uses TensorFlow's text layout, one `field: value` per line:

    model_checkpoint_path: "ckpt-3"
    all_model_checkpoint_paths: "ckpt-2"
    all_model_checkpoint_paths: "ckpt-3"
    all_model_checkpoint_timestamps: 1712345678.5
    all_model_checkpoint_timestamps: 1712345690.25
    last_preserved_timestamp: 1712345600.0

Names are plain file prefixes inside the state file's own folder: a name with a path
separator, `..`, or an absolute path is refused, so a state file can never point a reader
outside its folder. The file is replaced atomically and only after the checkpoint it
names is complete on disk.
"""

import json
import os
import time

from kiln.checkpoint import format as fmt
from kiln.errors import FileFormatError, UnsafeFileError
from kiln.saving.atomic import atomic_write

STATE_FILENAME = "checkpoint"
_MAX_BYTES = 1024 * 1024


class CheckpointState:
    """Parsed state file: `latest` (a name), `all` (names), `timestamps`, `last_preserved`."""

    def __init__(self, latest=None, all_names=(), timestamps=(), last_preserved=None):
        self.latest = latest
        self.all = list(all_names)
        self.timestamps = list(timestamps)
        self.last_preserved = last_preserved


def check_name(name, state_path):
    """Returns `name` if it is a plain prefix inside the state file's folder, else raises."""
    bad = (not isinstance(name, str) or not name or name in (".", "..") or "\x00" in name
           or "/" in name or "\\" in name or os.path.isabs(name)
           or os.path.splitdrive(name)[0])
    if bad:
        raise UnsafeFileError(
            f"The checkpoint state file {state_path} names {name!r}, which is not a plain "
            "checkpoint prefix inside its folder. kiln only follows names without path "
            "separators; fix or delete the state file.")
    return name


def read(directory, filename=STATE_FILENAME):
    """The `CheckpointState` of `directory`, or None if it has no state file."""
    path = os.path.join(os.fspath(directory), filename)
    if not os.path.isfile(path):
        return None
    if os.path.getsize(path) > _MAX_BYTES:
        raise FileFormatError(f"Checkpoint state file {path} is larger than {_MAX_BYTES} "
                              "bytes; it is not a state file.")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(f"Checkpoint state file {path} is not UTF-8 text.") from None
    state = CheckpointState()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        field, sep, value = line.partition(":")
        value = value.strip()
        if not sep:
            raise FileFormatError(f"{path}, line {number}: expected `field: value`, found "
                                  f"{line[:80]!r}.")
        try:
            parsed = json.loads(value)
        except ValueError:
            raise FileFormatError(f"{path}, line {number}: cannot parse value {value[:80]!r}.") \
                from None
        if field in ("model_checkpoint_path", "all_model_checkpoint_paths"):
            name = check_name(parsed, path)
            if field == "model_checkpoint_path":
                state.latest = name
            else:
                state.all.append(name)
        elif field in ("all_model_checkpoint_timestamps", "last_preserved_timestamp"):
            if not isinstance(parsed, (int, float)) or isinstance(parsed, bool):
                raise FileFormatError(f"{path}, line {number}: {field} must be a number.")
            if field == "last_preserved_timestamp":
                state.last_preserved = float(parsed)
            else:
                state.timestamps.append(float(parsed))
        # Unknown fields are ignored, as TensorFlow's parser would keep them.
    return state


def write(directory, state, filename=STATE_FILENAME):
    """Atomically replaces the state file of `directory` with `state`."""
    lines = []
    if state.latest is not None:
        lines.append(f"model_checkpoint_path: {json.dumps(state.latest)}")
    lines += [f"all_model_checkpoint_paths: {json.dumps(n)}" for n in state.all]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in state.timestamps]
    if state.last_preserved is not None:
        lines.append(f"last_preserved_timestamp: {state.last_preserved!r}")
    with atomic_write(os.path.join(os.fspath(directory) or ".", filename)) as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def record_latest(prefix, keep_others=False):
    """Makes `prefix` the latest checkpoint of its folder.

    With `keep_others=False` (what `save_weights` does) the state lists only `prefix`;
    otherwise earlier names whose files still exist stay in the list.
    """
    directory, name = os.path.split(os.fspath(prefix))
    directory = directory or "."
    check_name(name, os.path.join(directory, STATE_FILENAME))
    pairs = []
    if keep_others:
        old = read(directory)
        if old is not None:
            stamps = old.timestamps if len(old.timestamps) == len(old.all) else [None] * len(old.all)
            pairs = [(n, t) for n, t in zip(old.all, stamps) if n != name and os.path.exists(
                fmt.index_path(os.path.join(directory, n)))]
    pairs.append((name, time.time()))
    stamps = [t for _, t in pairs]
    write(directory, CheckpointState(name, [n for n, _ in pairs],
                                     stamps if None not in stamps else []))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """Returns the prefix of the newest checkpoint in `checkpoint_dir`, or None.

    The name comes from the folder's `checkpoint` state file, which kiln replaces only
    after the checkpoint it names is complete, so the result is always loadable.

    Args:
        checkpoint_dir: The folder the checkpoints were saved in.
        latest_filename: The state file's name, `"checkpoint"` by default.

    Raises:
        FileNotFoundError: If the state file names a checkpoint whose files are missing.
        kiln.errors.UnsafeFileError: If the state file names a path outside the folder.

    Example:
        >>> kiln.checkpoint.latest_checkpoint("training_2")
        'training_2/cp-0050.ckpt'
    """
    directory = os.fspath(checkpoint_dir)
    state = read(directory, latest_filename or STATE_FILENAME)
    if state is None or state.latest is None:
        return None
    prefix = os.path.join(directory, state.latest)
    if not os.path.isfile(fmt.index_path(prefix)) and not os.path.isfile(fmt.data_path(prefix)):
        raise FileNotFoundError(
            f"The checkpoint state file in {directory!r} names {state.latest!r}, but neither "
            f"{fmt.index_path(prefix)!r} nor {fmt.data_path(prefix)!r} exists. The files were "
            "moved or deleted; delete the state file or restore the files.")
    return prefix
