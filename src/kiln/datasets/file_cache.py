"""Downloading dataset files once into `$KILN_HOME/datasets`, checked by SHA-256.

`KILN_HOME` defaults to `~/.kiln`. A file already in the cache with the right hash is
used without any network access, so copying the file there by hand works offline.
"""

import hashlib
import os
import shutil
import tempfile
import urllib.request


class DatasetDownloadError(OSError):
    """A dataset file is not in the cache and could not be downloaded.

    Raised by `kiln.datasets.*.load_data()` when offline. Fix: download the file named
    in the message by any means and put it at the path the message gives (or point
    `KILN_HOME` at a folder whose `datasets/` holds it).
    """


class DatasetHashError(ValueError):
    """A dataset file does not have the SHA-256 hash it is published with.

    The download was truncated or the file at the cache path is another file. Delete it
    and load again (or place the correct file there).
    """


def cache_dir():
    """The dataset cache folder: `$KILN_HOME/datasets`, default `~/.kiln/datasets`."""
    home = os.environ.get("KILN_HOME") or os.path.join(os.path.expanduser("~"), ".kiln")
    return os.path.join(home, "datasets")


def sha256(path, chunk_size=1 << 20):
    """The SHA-256 hex digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url, destination):
    """Downloads `url` to the file `destination` (tests replace this function)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out)


def get_file(fname, origin, file_hash):
    """The local path of `fname`, downloading it from `origin` if it is not cached.

    Args:
        fname: File name inside the cache folder, or an absolute path.
        origin: URL to download from.
        file_hash: Expected SHA-256 hex digest.

    Example:
        >>> path = get_file("mnist.npz", MNIST_URL, MNIST_SHA256)
    """
    path = fname if os.path.isabs(fname) else os.path.join(cache_dir(), fname)
    if os.path.exists(path):
        actual = sha256(path)
        if actual == file_hash:
            return path
        problem = (f"The cached file {path} has SHA-256 {actual}, but {file_hash} was "
                   "expected")
    else:
        problem = None
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=".download-", dir=directory)
    os.close(fd)
    try:
        try:
            download(origin, partial)
        except Exception as e:  # network errors come in many types
            reason = f"{problem}; a fresh download also failed" if problem else \
                "It is not in the cache and could not be downloaded"
            raise DatasetDownloadError(
                f"{reason} from {origin} ({type(e).__name__}: {e}). Download that file by "
                f"other means and save it as {path} (set KILN_HOME to use another cache "
                "folder)."
            ) from e
        actual = sha256(partial)
        if actual != file_hash:
            raise DatasetHashError(
                f"The file downloaded from {origin} has SHA-256 {actual}, but {file_hash} "
                "was expected: the download is incomplete or the file has changed. Try again, "
                f"or place the correct file at {path}."
            )
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path
