"""Hostile JSON members: too deep, too large, not UTF-8 — refused with the member named."""

import zipfile

import pytest

from kiln.errors import FileFormatError
from kiln.saving.json_utils import load_untrusted_json
from kiln.saving.zip_archive import ArchiveReader


def _archive(sandbox, name, payload):
    path = sandbox.work / "m.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, payload)
    return path


def test_config_nested_too_deep(sandbox):
    path = _archive(sandbox, "config.json", b'{"config": ' * 100_000 + b"1" + b"}" * 100_000)
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match=r"config.json in .*m.keras nests lists/objects "
                                                  r"100000 levels deep; at most 200"):
            archive.read_json("config.json")


def test_deep_nesting_of_unclosed_brackets(sandbox):
    with pytest.raises(FileFormatError, match="1000000 levels deep"):
        load_untrusted_json(b"[" * 1_000_000, "config.json")


def test_metadata_too_large(sandbox):
    path = _archive(sandbox, "metadata.json", b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}')
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match=r"metadata.json in .* is 2097161 bytes, more "
                                                  r"than the 1048576-byte limit"):
            archive.read_json("metadata.json")


def test_config_too_large_is_refused_before_reading(sandbox):
    path = _archive(sandbox, "config.json", b'{"x": "' + b" " * (64 * 1024 * 1024) + b'"}')
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match="config.json in .* is 67108873 bytes, more "
                                                  "than the 67108864-byte limit for this member"):
            archive.read_json("config.json")


@pytest.mark.parametrize("payload", [b'{"name": "\xff\xfe"}', b'{"name": "\xc3"}',
                                     "{\"a\": 1}".encode("utf-16")])
def test_invalid_utf8(sandbox, payload):
    path = _archive(sandbox, "config.json", payload)
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match="config.json in .* is not valid UTF-8"):
            archive.read_json("config.json")


@pytest.mark.parametrize("payload", [b"", b"{", b'{"a": NaNx}', b"[1, 2,]", b'{"a": 1} trailing'])
def test_invalid_json(sandbox, payload):
    path = _archive(sandbox, "config.json", payload)
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match="config.json in .* is not valid JSON"):
            archive.read_json("config.json")


def test_huge_integer_literal():
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_untrusted_json(b'{"units": ' + b"9" * 100_000 + b"}", "config.json")
