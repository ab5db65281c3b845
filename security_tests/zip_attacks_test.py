"""Hostile `.keras` zip archives: every one is refused before any member is read or written."""

import io
import stat
import struct
import warnings
import zipfile
import zlib

import h5py
import numpy as np
import pytest

from kiln.errors import FileFormatError, UnsafeFileError
from kiln.saving.zip_archive import ArchiveReader


def _h5_bytes(**datasets):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["layers/dense/vars/0"] = np.ones((2, 2), np.float32)
        for name, value in datasets.items():
            f[name] = value
    return buffer.getvalue()


def _zip(path, members, compression=zipfile.ZIP_STORED):
    """Writes `members` ([(name or ZipInfo, bytes)]) after the three normal members."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as zf:
            zf.writestr("metadata.json", b'{"keras_version": "3.15.1"}')
            zf.writestr("config.json", b"{}")
            zf.writestr("model.weights.h5", _h5_bytes())
            for name, data in members:
                zf.writestr(name, data)
    return path


def _central_offset(data, name):
    """Byte offset of the central-directory entry for `name`."""
    pos = data.index(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == name.encode():
            return pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


def _refused(sandbox, path, match, error=UnsafeFileError):
    with pytest.raises(error, match=match):
        with ArchiveReader(path) as archive:
            archive.extract_assets(sandbox.work / "extract")
    assert not (sandbox.work / "extract").exists()


@pytest.mark.parametrize("name", ["../../../outside/evil.txt", "assets/../../../../outside/evil.txt",
                                  "assets/x/../../config.json"])
def test_parent_traversal(sandbox, name):
    path = _zip(sandbox.work / "m.keras", [(name, b"pwned")])
    _refused(sandbox, path, r"contains '\.\.'")


@pytest.mark.parametrize("name", ["/tmp/kiln_evil_abs.txt", "C:/evil.txt", "c:evil.txt"])
def test_absolute_member(sandbox, name):
    path = _zip(sandbox.work / "m.keras", [(name, b"pwned")])
    _refused(sandbox, path, "is an absolute path")


def test_backslash_member(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets\\..\\..\\..\\outside\\evil.txt", b"x")])
    _refused(sandbox, path, "contains a backslash")


def test_control_characters_in_name(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets/a\x01b.txt", b"x")])
    _refused(sandbox, path, "control characters")


def test_symlink_member(sandbox):
    info = zipfile.ZipInfo("assets/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = _zip(sandbox.work / "m.keras", [(info, str(sandbox.outside).encode())])
    _refused(sandbox, path, "is a symbolic link")


def test_duplicate_member(sandbox):
    path = _zip(sandbox.work / "m.keras", [("config.json", b'{"evil": true}')])
    _refused(sandbox, path, "'config.json' appears twice")


@pytest.mark.parametrize("name", ["evil.py", "model.weights.h5.bak", "assets",
                                  "assets/./x", "assets//x", "assets/CON.txt", "assets/a:b"])
def test_unexpected_members(sandbox, name):
    path = _zip(sandbox.work / "m.keras", [(name, b"x")])
    _refused(sandbox, path, "not an expected member|empty or '.' path|reserved Windows|not a portable")


def test_zip_bomb_real_deflate(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets/bomb.bin", bytes(32 * 1024 * 1024))],
                compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 200_000
    _refused(sandbox, path, r"declares 33554432 bytes from \d+ compressed bytes \(a zip bomb\)")


def test_zip_bomb_declared_size(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets/x.bin", b"tiny" * 100)],
                compression=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, _central_offset(data, "assets/x.bin") + 24, 0xFFFFFFF0)
    path.write_bytes(bytes(data))
    _refused(sandbox, path, "declares 4294967280 bytes .* zip bomb")


def test_stored_member_with_inconsistent_sizes(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets/x.bin", b"abc")])
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, _central_offset(data, "assets/x.bin") + 24, 10**9)
    path.write_bytes(bytes(data))
    _refused(sandbox, path, "stored uncompressed but declares 1000000000 bytes")


def test_member_data_past_end_of_archive(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets/x.bin", b"abc")])
    data = bytearray(path.read_bytes())
    entry = _central_offset(data, "assets/x.bin")
    struct.pack_into("<II", data, entry + 20, 10**8, 10**8)
    path.write_bytes(bytes(data))
    _refused(sandbox, path, "declares data up to byte .*truncated or inconsistent")


def test_local_header_name_differs_from_directory(sandbox):
    path = _zip(sandbox.work / "m.keras", [])
    data = bytearray(path.read_bytes())
    local = data.index(b"config.json")  # first occurrence: the local header
    data[local:local + 11] = b"../evil.txt"
    path.write_bytes(bytes(data))
    _refused(sandbox, path, "different name in its local header")


def test_overlapping_members(sandbox):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("assets/c.bin", b"xyz")
    inner_local = inner.getvalue()[: 30 + len("assets/c.bin") + 3]
    path = _zip(sandbox.work / "m.keras", [("assets/a.bin", inner_local), ("assets/c.bin", b"xyz")])
    with zipfile.ZipFile(path) as zf:
        a_data = zf.getinfo("assets/a.bin").header_offset + 30 + len("assets/a.bin")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, _central_offset(data, "assets/c.bin") + 42, a_data)
    path.write_bytes(bytes(data))
    _refused(sandbox, path, "'assets/a.bin' overlaps member 'assets/c.bin'")


def test_encrypted_and_exotic_compression(sandbox):
    path = _zip(sandbox.work / "m.keras", [("assets/x.bin", b"abc")])
    data = bytearray(path.read_bytes())
    entry = _central_offset(data, "assets/x.bin")
    struct.pack_into("<H", data, entry + 8, 1)
    path.write_bytes(bytes(data))
    _refused(sandbox, path, "encrypted", FileFormatError)
    path = _zip(sandbox.work / "b.keras", [("assets/x.bin", b"abc" * 100)], zipfile.ZIP_BZIP2)
    _refused(sandbox, path, "compression method 12", FileFormatError)


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.97])
def test_truncated_zip(sandbox, fraction):
    path = _zip(sandbox.work / "m.keras", [])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    _refused(sandbox, path, "not a valid zip archive", FileFormatError)


@pytest.mark.parametrize("content", [b"", b"not a zip at all" * 100, _h5_bytes(),
                                     b"PK\x05\x06" + b"\xff" * 18])
def test_not_a_zip(sandbox, content):
    path = sandbox.work / "m.keras"
    path.write_bytes(content)
    _refused(sandbox, path, "not a valid zip archive|not a zip", FileFormatError)


def test_hostile_weights_member_is_refused_in_place(sandbox):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["layers/dense/vars/0"] = np.ones(2, np.float32)
        f["layers/dense/vars/1"] = h5py.ExternalLink(str(sandbox.outside / "secret.h5"), "/x")
    with zipfile.ZipFile(sandbox.work / "m.keras", "w") as zf:
        zf.writestr("config.json", b"{}")
        zf.writestr("model.weights.h5", buffer.getvalue())
    with ArchiveReader(sandbox.work / "m.keras") as archive:
        with pytest.raises(UnsafeFileError, match="model.weights.h5 in .*'/layers/dense/vars/1' is an external link"):
            archive.open_weights()


def test_deflated_weights_member_is_validated_too(sandbox):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["layers/dense/vars/0"] = h5py.SoftLink("/elsewhere")
    with zipfile.ZipFile(sandbox.work / "m.keras", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.weights.h5", buffer.getvalue())
    with ArchiveReader(sandbox.work / "m.keras") as archive:
        with pytest.raises(UnsafeFileError, match="soft link"):
            archive.open_weights()


def test_crc32_sanity_of_helpers():
    assert zlib.crc32(b"xyz") == zipfile.ZipFile(io.BytesIO(_zip_bytes())).getinfo("x").CRC


def _zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("x", b"xyz")
    return buffer.getvalue()
