"""Crash-safe writes: a file or directory is either fully replaced or left untouched.

Everything kiln saves goes through these helpers, so an interrupted save (an exception,
Ctrl-C, a killed process, a full disk) never leaves a half-written `.keras` file where a
good one used to be.

This module depends only on the standard library on purpose: it is loaded standalone by
the crash test's child process.
"""

import contextlib
import os
import secrets
import shutil

__all__ = ["atomic_write", "atomic_directory"]

_TMP_MARKER = ".tmp-"


def _temp_sibling(target, kind="tmp"):
    """Returns a fresh hidden name next to `target`: `<dir>/.<name>.<kind>-<random>`."""
    directory, name = os.path.split(os.path.abspath(target))
    return os.path.join(directory, f".{name}.{kind}-{secrets.token_hex(6)}")


def _fsync_directory(directory):
    """Makes a rename inside `directory` durable. A no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows, or a filesystem that refuses O_RDONLY on directories.
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(target_path):
    """Writes a file so that readers only ever see the old or the complete new content.

    Yields a binary file object (readable, writable, seekable) opened on a temporary file
    `.<name>.tmp-<random>` in the target's directory; its `.name` is that temporary path,
    for libraries that insist on writing to a path themselves. When the block ends
    normally the data is flushed and fsynced, the temporary file atomically replaces
    `target_path` (`os.replace`) and the directory entry is fsynced. If the block raises,
    the temporary file is removed, the previous target is left byte-identical, and the
    exception propagates.

    A process killed with SIGKILL or a power cut can leave a stray `.<name>.tmp-*` file
    behind, but never a damaged target. The new file gets the permissions of the file it
    replaces, or the usual `0o666 & ~umask` for a new file.

    Example:
        >>> with atomic_write("model.keras") as f:
        ...     f.write(b"PK...")
    """
    target_path = os.fspath(target_path)
    directory = os.path.dirname(os.path.abspath(target_path))
    if os.path.isdir(target_path):
        raise IsADirectoryError(
            f"Cannot write a file at {target_path!r}: a directory with that name exists. "
            "Choose a file path, or remove the directory first."
        )
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot write {target_path!r}: the folder {directory!r} does not exist. "
            "Create it first (os.makedirs) or choose a path in an existing folder."
        )
    tmp_path = _temp_sibling(target_path)
    # O_EXCL: never reuse (or follow a symlink planted at) an existing name.
    fd = os.open(tmp_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp_path, os.stat(target_path).st_mode & 0o7777)
        with open(fd, "w+b", closefd=True) as f:
            f.raw.name = tmp_path  # opened from a descriptor; expose the path instead of the number
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, target_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        raise
    _fsync_directory(directory)


def _fsync_tree(root):
    """fsyncs every file and directory under `root` (bottom-up), so a rename publishes data."""
    for dirpath, _, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_directory(dirpath)


@contextlib.contextmanager
def atomic_directory(target_dir):
    """Builds a directory next to `target_dir`, then swaps it into place.

    Yields the path of a fresh temporary sibling directory `.<name>.tmp-<random>`; write
    everything into it. When the block ends normally every file in it is fsynced and the
    swap happens: the old `target_dir` (if any) is renamed to a backup sibling, the new
    directory is renamed to `target_dir`, and the backup is deleted. If the block raises,
    the temporary directory is deleted and `target_dir` is untouched.

    The swap takes two renames, because POSIX cannot atomically exchange two directories.
    Between them (microseconds) `target_dir` does not exist; a crash exactly then leaves
    the complete old content in the `.<name>.old-<random>` backup and the complete new
    content in the `.<name>.tmp-<random>` directory, never a mix. If the second rename
    fails, the backup is renamed back.

    Example:
        >>> with atomic_directory("exported_model") as tmp:
        ...     open(os.path.join(tmp, "config.json"), "w").write("{}")
    """
    target_dir = os.path.abspath(os.fspath(target_dir))
    parent = os.path.dirname(target_dir)
    tmp_dir = _temp_sibling(target_dir)
    os.mkdir(tmp_dir)
    try:
        yield tmp_dir
        _fsync_tree(tmp_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    backup = None
    if os.path.lexists(target_dir):
        backup = _temp_sibling(target_dir, kind="old")
        try:
            os.rename(target_dir, backup)
        except BaseException:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise
    try:
        os.rename(tmp_dir, target_dir)
    except BaseException:
        if backup is not None:
            os.rename(backup, target_dir)
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _fsync_directory(parent)
    if backup is not None:
        if os.path.isdir(backup) and not os.path.islink(backup):
            shutil.rmtree(backup, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(backup)
