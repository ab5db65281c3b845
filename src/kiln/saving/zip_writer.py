"""Writes `.keras` zip archives the way Keras does, streaming the weights member.

Every member is ZIP_STORED with `external_attr = 0o600 << 16`; the JSON members carry the
1980-01-01 00:00:00 date and the weights member the current local time (§1.1).

The zip is written by this module rather than `zipfile`, so that `model.weights.h5` is
written straight into its final place inside the archive; no temporary copy of the weights
ever exists. Two ways:

* When the weights are the first member of an archive written to a path, the member's
  data starts at byte 512: its local header is padded to that size with an alignment
  extra field (the `0xD935` field Android's zipalign uses), so the first 512 bytes are an
  HDF5 "user block" and readers can open the member with libhdf5's native driver (HDF5
  looks for a superblock at 512 by itself). `H5Writer` writes the HDF5 data with
  positioned writes and computes its CRC from memory as it goes; the header is written
  last.
* Otherwise the member's local header is written first with a Zip64 size field
  reserved, `H5Writer` writes after it (positioned writes on a real file, a window onto a
  file object otherwise), and the header is patched with the size and CRC it reports.

The central directory is written on `close()`.
"""

import contextlib
import io
import json
import os
import struct
import time
import zlib

from kiln.errors import UnsafeFileError
from kiln.saving.atomic import atomic_write
from kiln.saving.h5_writer import H5Writer
from kiln.saving.span_io import fileno_or_none
from kiln.saving.zip_names import ASSETS_PREFIX, WEIGHTS_H5, member_kind

__all__ = ["ArchiveWriter"]

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sBBHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<4sIQI")
_MAX32 = 0xFFFFFFFF
_DOS_EPOCH = (1980, 1, 1, 0, 0, 0)
_ATTR = 0o600 << 16
_UNIX = 3
_COPY_CHUNK = 16 * 1024 * 1024
_ALIGN_FIELD = 0xD935  # zipalign's padding extra field
_USERBLOCK = 512  # the smallest HDF5 user block


def _dos_time(date_time):
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class _MemberWindow(io.RawIOBase):
    """A write/seek file object over the archive from `start` on (the open member)."""

    def __init__(self, fp, start):
        super().__init__()
        self._fp, self._start, self._pos, self.end = fp, start, 0, 0

    def writable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, pos, whence=0):
        self._pos = {0: 0, 1: self._pos, 2: self.end}[whence] + pos
        return self._pos

    def write(self, data):
        self._fp.seek(self._start + self._pos)
        written = self._fp.write(data)
        self._pos += written
        self.end = max(self.end, self._pos)
        return written

    def flush(self):
        self._fp.flush()


class ArchiveWriter:
    """Writes a `.keras` archive member by member.

    Args:
        target: A path (the archive appears there atomically on `close()`; on error the
            previous file is untouched) or a seekable, writable binary file object.

    Members should be added in Keras's order: `metadata.json`, `config.json`,
    `model.weights.h5`, then assets. Names are checked with the same rules the reader
    applies.

    Example:
        >>> with ArchiveWriter("model.keras") as zw:
        ...     zw.write_json("metadata.json", {"keras_version": "3.15.1", "date_saved": d})
        ...     zw.write_json("config.json", config)
        ...     with zw.weights_writer() as h5:
        ...         h5.put("layers/dense", [kernel, bias], name="d1")
        ...     zw.add_assets(assets_dir)
    """

    def __init__(self, target):
        self._atomic = None
        if isinstance(target, (str, os.PathLike)):
            self.what = os.fspath(target)
            self._atomic = atomic_write(target)
            self._fp = self._atomic.__enter__()
        else:
            self.what = "the archive stream"
            self._fp = target
        self._base = self._fp.tell()
        self._entries = []
        self._names = set()
        self._busy = False

    # -- members -------------------------------------------------------------------------

    def _start(self, name):
        if self._fp is None:
            raise ValueError(f"ArchiveWriter for {self.what} is closed.")
        if self._busy:
            raise ValueError("Finish the open weights member before adding another member.")
        try:
            kind = member_kind(name, "the archive being written")
        except UnsafeFileError as err:
            raise ValueError(f"Cannot add member {name!r} to {self.what}: {err}") from None
        if kind == "asset_dir":
            raise ValueError(f"Member {name!r} is a directory; add files only.")
        if name in self._names:
            raise ValueError(f"Member {name!r} was already added to {self.what}.")
        self._names.add(name)
        encoded = name.encode("ascii", "ignore")
        flags = 0
        if encoded.decode("ascii") != name:
            encoded, flags = name.encode("utf-8"), 0x800
        return encoded, flags

    def write_bytes(self, name, data, date_time=_DOS_EPOCH):
        """Adds a member holding `data` (stored, dated 1980-01-01 unless `date_time` given)."""
        raw, flags = self._start(name)
        data = memoryview(data).cast("B")
        crc, size = zlib.crc32(data), len(data)
        dos_time, dos_date = _dos_time(date_time)
        offset = self._fp.tell() - self._base
        zip64 = size >= _MAX32
        self._write_local(raw, flags, dos_time, dos_date, crc, size, zip64)
        start = self._fp.tell()
        self._fp.write(data)
        self._entries.append((raw, flags, dos_time, dos_date, crc, size, offset, zip64, start))

    def write_json(self, name, value):
        """Adds `json.dumps(value)` (compact, UTF-8, Keras's encoding) as member `name`."""
        self.write_bytes(name, json.dumps(value).encode("utf-8"))

    def _write_local(self, raw, flags, dos_time, dos_date, crc, size, zip64):
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, size, size)
            header = _LOCAL.pack(b"PK\x03\x04", 45, flags, 0, dos_time, dos_date, crc,
                                 _MAX32, _MAX32, len(raw), len(extra))
        else:
            extra = b""
            header = _LOCAL.pack(b"PK\x03\x04", 20, flags, 0, dos_time, dos_date, crc,
                                 size, size, len(raw), 0)
        self._fp.write(header + raw + extra)

    @contextlib.contextmanager
    def _streamed(self, name, date_time):
        """Writes a Zip64 local header with placeholders, yields the data start, patches it."""
        raw, flags = self._start(name)
        dos_time, dos_date = _dos_time(date_time)
        offset = self._fp.tell() - self._base
        self._write_local(raw, flags, dos_time, dos_date, 0, 0, True)
        result = {"start": self._fp.tell(), "size": 0, "crc": 0}
        self._busy = True
        try:
            yield result
        finally:
            self._busy = False
        size, crc = result["size"], result["crc"]
        self._fp.seek(self._base + offset + 14)
        self._fp.write(struct.pack("<I", crc))
        self._fp.seek(self._base + offset + _LOCAL.size + len(raw) + 4)
        self._fp.write(struct.pack("<QQ", size, size))
        self._fp.seek(result["start"] + size)
        self._entries.append((raw, flags, dos_time, dos_date, crc, size, offset, True,
                              result["start"]))

    def _can_align(self):
        return self._atomic is not None and not self._names and self._fp.tell() == 0

    @contextlib.contextmanager
    def weights_writer(self, name=WEIGHTS_H5):
        """Yields an `H5Writer` that writes the weights member in place inside the archive.

        As the first member of an archive written to a path, the member is aligned and
        written natively by HDF5 (see the module docstring); otherwise through a window.
        """
        if self._can_align():
            with self._aligned_weights(name) as writer:
                yield writer
            return
        with self._streamed(name, time.localtime()[:6]) as member:
            fd = fileno_or_none(self._fp)
            if fd is not None:  # a real file: positioned writes, as for an aligned member
                self._fp.flush()
                writer = H5Writer.in_place(fd, member["start"])
            else:
                writer = H5Writer(_MemberWindow(self._fp, member["start"]), checksum=True)
            try:
                yield writer
            except BaseException:
                writer.abort()
                raise
            writer.close()
            member["size"], member["crc"] = writer.size, writer.crc32

    @contextlib.contextmanager
    def _aligned_weights(self, name):
        raw, flags = self._start(name)
        dos_time, dos_date = _dos_time(time.localtime()[:6])
        start = _USERBLOCK
        while _LOCAL.size + len(raw) + 20 + 6 > start:
            start *= 2
        self._fp.flush()
        fd = self._fp.fileno()
        self._busy = True
        try:
            writer = H5Writer.in_place(fd, start)
            try:
                yield writer
            except BaseException:
                writer.abort()
                raise
            writer.close()
        finally:
            self._busy = False
        size, crc = writer.size, writer.crc32
        pad = start - (_LOCAL.size + len(raw) + 20 + 4)
        extra = (struct.pack("<HHQQ", 1, 16, size, size)
                 + struct.pack("<HHH", _ALIGN_FIELD, pad, start & 0xFFFF) + bytes(pad - 2))
        header = _LOCAL.pack(b"PK\x03\x04", 45, flags, 0, dos_time, dos_date, crc,
                             _MAX32, _MAX32, len(raw), len(extra)) + raw + extra
        os.pwrite(fd, header, 0)
        self._fp.seek(start + size)
        self._entries.append((raw, flags, dos_time, dos_date, crc, size, 0, True, start))

    def write_file(self, name, source_path):
        """Adds the file at `source_path` as member `name`, streaming it in chunks."""
        with open(source_path, "rb") as src, self._streamed(name, _DOS_EPOCH) as member:
            crc = size = 0
            while chunk := src.read(_COPY_CHUNK):
                self._fp.write(chunk)
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            member["size"], member["crc"] = size, crc

    def add_assets(self, source_dir, prefix=ASSETS_PREFIX):
        """Adds every file under `source_dir` as `assets/<relative path>` (sorted walk).

        Symlinks are not followed. Returns the member names added.
        """
        added = []
        for dirpath, dirnames, filenames in os.walk(source_dir):
            dirnames.sort()
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                rel = os.path.relpath(full, source_dir).replace(os.sep, "/")
                self.write_file(prefix + rel, full)
                added.append(prefix + rel)
        return added

    def written_member(self, name):
        """`(data_offset, size, crc32)` of a finished member; `data_offset` is absolute in
        the target file, so its bytes can be re-read (e.g. to hash them) before `close()`."""
        raw = name.encode("utf-8")
        for entry_raw, _, _, _, crc, size, _, _, start in self._entries:
            if entry_raw == raw:
                return start, size, crc
        raise KeyError(f"No finished member {name!r} in {self.what}.")

    # -- finishing -----------------------------------------------------------------------

    def _write_central_directory(self):
        cd_start = self._fp.tell() - self._base
        for raw, flags, dos_time, dos_date, crc, size, offset, zip64_local, _ in self._entries:
            big = [v for v in (size, size) if v >= _MAX32]  # uncompressed, compressed
            if offset >= _MAX32:
                big.append(offset)
            extra = struct.pack("<HH", 1, 8 * len(big)) + struct.pack(f"<{len(big)}Q", *big) if big else b""
            version = 45 if (big or zip64_local) else 20
            self._fp.write(_CENTRAL.pack(
                b"PK\x01\x02", version, _UNIX, version, flags, 0, dos_time, dos_date, crc,
                min(size, _MAX32), min(size, _MAX32), len(raw), len(extra), 0, 0, 0, _ATTR,
                min(offset, _MAX32)) + raw + extra)
        cd_end = self._fp.tell() - self._base
        count, cd_size = len(self._entries), cd_end - cd_start
        if count >= 0xFFFF or cd_size >= _MAX32 or cd_start >= _MAX32:
            self._fp.write(_EOCD64.pack(b"PK\x06\x06", _EOCD64.size - 12, 45, 45, 0, 0,
                                        count, count, cd_size, cd_start))
            self._fp.write(_LOCATOR64.pack(b"PK\x06\x07", 0, cd_end, 1))
        self._fp.write(_EOCD.pack(b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                  min(cd_size, _MAX32), min(cd_start, _MAX32), 0))

    def close(self):
        """Writes the central directory and, for a path target, publishes the archive."""
        if self._fp is None:
            return
        try:
            self._write_central_directory()
            self._fp.flush()
        except BaseException:
            self.abort()
            raise
        self._fp = None
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            atomic.__exit__(None, None, None)

    def abort(self):
        """Discards the archive; a path target keeps its previous content."""
        self._fp = None
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            err = RuntimeError("aborted")
            with contextlib.suppress(BaseException):
                atomic.__exit__(type(err), err, None)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False
