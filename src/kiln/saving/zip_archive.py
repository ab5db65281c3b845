"""Reading `.keras` zip archives safely (and re-exporting the writer).

`ArchiveReader` validates the whole central directory, and every member's local header,
before it reads any member data: unknown, absolute, traversing, backslashed, symlinked
or duplicated names are refused, as are sizes that do not fit in the archive or
compression ratios typical of zip bombs. The weights member is read in place (no copy)
when it is stored uncompressed, which is how Keras and kiln write it.
"""

import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib

from kiln.errors import FileFormatError, UnsafeFileError
from kiln.saving.h5_store import H5Reader
from kiln.saving.json_utils import CONFIG_MAX_BYTES, METADATA_MAX_BYTES, load_untrusted_json
from kiln.saving.zip_names import CONFIG, METADATA, WEIGHTS_H5, asset_parts, member_kind
from kiln.saving.zip_writer import ArchiveWriter

__all__ = ["ArchiveReader", "ArchiveWriter"]

MAX_MEMBERS = 100_000
MAX_RATIO = 100  # deflated members may expand at most this much ...
MAX_DEFLATED_BYTES = 16 * 1024**3  # ... and never beyond this
_SMALL = 1024 * 1024  # below this, any ratio is fine (tiny highly compressible files)
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_JSON_LIMITS = {METADATA: METADATA_MAX_BYTES, CONFIG: CONFIG_MAX_BYTES}
_COPY_CHUNK = 4 * 1024 * 1024


class ArchiveReader:
    """Validated, read-only access to a `.keras` archive.

    Args:
        source: A path or a seekable binary file object (e.g. `io.BytesIO`).

    Raises:
        kiln.errors.FileFormatError: not a zip, truncated, or an unsupported feature
            (encryption, exotic compression).
        kiln.errors.UnsafeFileError: hostile member names, symlinks, duplicates, sizes
            inconsistent with the archive, zip bombs.

    Example:
        >>> with ArchiveReader("model.keras") as archive:
        ...     config = archive.read_json("config.json")
        ...     with archive.open_weights() as weights:
        ...         kernel, bias = weights.get("layers/dense")
    """

    def __init__(self, source):
        self._owned = None
        self._zip = None
        if isinstance(source, (str, os.PathLike)):
            self.what = os.fspath(source)
            self._path = os.fspath(source)
            try:
                self._owned = self._fp = open(source, "rb")
            except IsADirectoryError:
                raise FileFormatError(f"{self.what} is a directory, not a `.keras` archive.") from None
        else:
            self.what, self._path, self._fp = "the archive stream", None, source
        try:
            self.size = self._fp.seek(0, os.SEEK_END)
            self._fp.seek(0)
            try:
                self._zip = zipfile.ZipFile(self._fp, "r")
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                    struct.error, UnicodeDecodeError) as err:
                raise FileFormatError(
                    f"{self.what} is not a valid zip archive ({err}). A `.keras` file is a zip; "
                    "the file is truncated, damaged, or in another format."
                ) from None
            self._spans = self._validate()
        except BaseException:
            self.close()
            raise

    # -- validation ----------------------------------------------------------------------

    def _unsafe(self, name, problem):
        raise UnsafeFileError(f"Refusing to read {self.what}: member {name!r} {problem}.")

    def _validate(self):
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise UnsafeFileError(f"Refusing to read {self.what}: {len(infos)} members "
                                  f"(more than {MAX_MEMBERS}).")
        seen, spans = set(), {}
        for info in infos:
            name = info.orig_filename
            member_kind(name, self.what)
            if name in seen:
                self._unsafe(name, "appears twice (duplicate entries can hide content)")
            seen.add(name)
            if stat.S_ISLNK(info.external_attr >> 16):
                self._unsafe(name, "is a symbolic link")
            if info.flag_bits & 0x1:
                raise FileFormatError(f"{self.what}: member {name!r} is encrypted; encrypted "
                                      "archives are not supported.")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.compress_size != info.file_size:
                    self._unsafe(name, f"is stored uncompressed but declares {info.file_size} "
                                       f"bytes of content in {info.compress_size} bytes")
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > MAX_DEFLATED_BYTES or (
                        info.file_size > _SMALL and info.file_size > MAX_RATIO * info.compress_size):
                    self._unsafe(name, f"declares {info.file_size} bytes from {info.compress_size} "
                                       "compressed bytes (a zip bomb)")
            else:
                raise FileFormatError(f"{self.what}: member {name!r} uses compression method "
                                      f"{info.compress_type}; only stored and deflated members "
                                      "are supported.")
            spans[name] = self._local_span(info)
        ordered = sorted((start, end, name) for name, (start, _, end) in spans.items())
        for (_, end, name), (next_start, _, next_name) in zip(ordered, ordered[1:]):
            if end > next_start:
                self._unsafe(name, f"overlaps member {next_name!r}")
        return {name: (data, end - data) for name, (_, data, end) in spans.items()}

    def _local_span(self, info):
        """Parses the member's local header: returns (header start, data start, data end)."""
        name = info.orig_filename
        start = info.header_offset
        if start < 0 or start + _LOCAL.size > self.size:
            self._unsafe(name, "has a header offset outside the archive (truncated file?)")
        self._fp.seek(start)
        header = self._fp.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
            raise FileFormatError(f"{self.what}: the local header of member {name!r} is missing "
                                  "or damaged; the archive is truncated or corrupt.")
        name_len, extra_len = _LOCAL.unpack(header)[-2:]
        local_name = self._fp.read(name_len)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if local_name != name.encode(encoding, "replace"):
            self._unsafe(name, f"has a different name in its local header ({local_name!r})")
        data = start + _LOCAL.size + name_len + extra_len
        end = data + info.compress_size
        if end > self.size:
            self._unsafe(name, f"declares data up to byte {end} but the archive has only "
                               f"{self.size} bytes (truncated or inconsistent sizes)")
        return start, data, end

    # -- access --------------------------------------------------------------------------

    def names(self):
        """Names of the file members, in archive order (directory entries excluded)."""
        return [i.orig_filename for i in self._zip.infolist() if not i.orig_filename.endswith("/")]

    def __contains__(self, name):
        return name in self._spans and not name.endswith("/")

    def _info(self, name):
        if name not in self:
            raise FileFormatError(f"{self.what} has no member {name!r}. Members: {self.names()}.")
        return self._zip.getinfo(name)

    def read_bytes(self, name, max_bytes=CONFIG_MAX_BYTES):
        """Returns a member's content (CRC-checked), refusing members above `max_bytes`."""
        info = self._info(name)
        if info.file_size > max_bytes:
            raise FileFormatError(f"{name} in {self.what} is {info.file_size} bytes, more than "
                                  f"the {max_bytes}-byte limit for this member.")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise FileFormatError(f"Could not read {name} from {self.what}: {err}. The archive "
                                  "is damaged.") from None

    def read_json(self, name, max_bytes=None):
        """Parses a JSON member with `load_untrusted_json` (1 MiB cap for metadata.json,
        64 MiB for config.json unless `max_bytes` is given)."""
        limit = max_bytes or _JSON_LIMITS.get(name, CONFIG_MAX_BYTES)
        return load_untrusted_json(self.read_bytes(name, limit), f"{name} in {self.what}",
                                   max_bytes=limit)

    def member_span(self, name):
        """`(offset, length)` of a stored member's bytes within the archive file.

        Raises FileFormatError if the member is compressed (use `open_weights`, which
        falls back to extracting it).
        """
        info = self._info(name)
        if info.compress_type != zipfile.ZIP_STORED:
            raise FileFormatError(f"{name} in {self.what} is compressed; it cannot be read in "
                                  "place.")
        return self._spans[name]

    def open_weights(self, name=WEIGHTS_H5):
        """Returns an `H5Reader` for the weights member.

        A stored member is read in place, straight from the archive file. A compressed
        one (Keras never writes that, other tools might) is first decompressed into an
        anonymous temporary file, which disappears when the reader is closed.
        """
        info = self._info(name)
        what = f"{name} in {self.what}"
        if info.compress_type == zipfile.ZIP_STORED:
            offset, length = self._spans[name]
            source = self._path if self._path is not None else self._fp
            return H5Reader((source, offset, length), what=what)
        tmp = tempfile.TemporaryFile()
        try:
            with self._zip.open(info) as member:
                shutil.copyfileobj(member, tmp, _COPY_CHUNK)
            return H5Reader(tmp, what=what, close_source=True)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            tmp.close()
            raise FileFormatError(f"Could not decompress {what}: {err}.") from None
        except BaseException:
            tmp.close()
            raise

    def asset_names(self):
        """Names of the file members under `assets/`."""
        return [n for n in self.names() if n.startswith("assets/")]

    def extract_assets(self, dest_dir):
        """Writes every validated `assets/...` member under `dest_dir`; returns the paths.

        Directories are created one level at a time and files exclusively, so an existing
        file or symlink under `dest_dir` is never overwritten or followed.
        """
        root = os.path.realpath(dest_dir)
        os.makedirs(root, exist_ok=True)
        written = []
        for info in self._zip.infolist():
            name = info.orig_filename
            if member_kind(name, self.what) not in ("asset", "asset_dir"):
                continue
            parts = asset_parts(name)
            dir_parts = parts if name.endswith("/") else parts[:-1]
            parent = root
            for part in dir_parts:  # created one level at a time, never through a symlink
                parent = os.path.join(parent, part)
                if os.path.islink(parent) or (os.path.lexists(parent) and not os.path.isdir(parent)):
                    self._unsafe(name, "would be extracted outside the asset directory "
                                       f"(through the existing link or file {parent!r})")
                if not os.path.lexists(parent):
                    os.mkdir(parent)
            if name.endswith("/"):
                continue
            target = os.path.join(parent, parts[-1])
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(target, flags, 0o644)
            with open(fd, "wb") as out:
                try:
                    with self._zip.open(info) as member:
                        shutil.copyfileobj(member, out, _COPY_CHUNK)
                except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                    raise FileFormatError(f"Could not extract {name} from {self.what}: "
                                          f"{err}.") from None
            written.append(target)
        return written

    def close(self):
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
