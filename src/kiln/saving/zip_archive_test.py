import io
import os
import zipfile

import numpy as np
import pytest
import torch

from kiln.errors import FileFormatError
from kiln.saving.h5_store import H5Writer
from kiln.saving.zip_archive import ArchiveReader, ArchiveWriter


def _h5_bytes(kernel):
    buffer = io.BytesIO()
    with H5Writer(buffer) as w:
        w.put("layers/dense", [kernel], name="d1")
    return buffer.getvalue()


def test_reads_deflated_reordered_archive_without_metadata(tmp_path):
    """Keras loads such archives (§1.2), so kiln must too."""
    kernel = torch.randn(8, 4)
    path = tmp_path / "other_tool.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.weights.h5", _h5_bytes(kernel))
        zf.writestr("config.json", '{"a": [1, 2]}')
        zf.writestr("assets/", "")  # a directory entry
    with ArchiveReader(path) as archive:
        assert archive.names() == ["model.weights.h5", "config.json"]
        assert "metadata.json" not in archive and "config.json" in archive
        assert archive.read_json("config.json") == {"a": [1, 2]}
        with pytest.raises(FileFormatError, match="is compressed; it cannot be read in place"):
            archive.member_span("model.weights.h5")
        with archive.open_weights() as weights:
            out = torch.empty(8, 4)
            weights.read_into("layers/dense", 0, out)
            assert torch.equal(out, kernel)
        with pytest.raises(FileFormatError, match="has no member 'metadata.json'"):
            archive.read_json("metadata.json")
    assert os.listdir(tmp_path) == ["other_tool.keras"]


def test_member_span_points_at_member_bytes(tmp_path):
    path = tmp_path / "m.keras"
    with ArchiveWriter(path) as zw:
        zw.write_bytes("config.json", b'{"k": 1}')
    with ArchiveReader(path) as archive:
        offset, length = archive.member_span("config.json")
    assert path.read_bytes()[offset:offset + length] == b'{"k": 1}'


def test_json_size_limits_per_member(tmp_path):
    path = tmp_path / "m.keras"
    with ArchiveWriter(path) as zw:
        zw.write_bytes("metadata.json", b'{"pad": "' + b"x" * (1024 * 1024) + b'"}')
        zw.write_bytes("config.json", b'{"pad": "' + b"x" * (1024 * 1024) + b'"}')
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match="metadata.json in .* more than the 1048576-byte"):
            archive.read_json("metadata.json")
        assert len(archive.read_json("config.json")["pad"]) == 1024 * 1024
        with pytest.raises(FileFormatError, match="more than the 100-byte limit"):
            archive.read_json("config.json", max_bytes=100)


def test_crc_damage_is_reported(tmp_path):
    path = tmp_path / "m.keras"
    with ArchiveWriter(path) as zw:
        zw.write_bytes("config.json", b'{"k": 12345}')
    data = bytearray(path.read_bytes())
    data[data.index(b"12345")] = ord("9")
    path.write_bytes(bytes(data))
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match="Could not read config.json .* damaged"):
            archive.read_json("config.json")


def test_extract_assets(tmp_path):
    path = tmp_path / "m.keras"
    with ArchiveWriter(path) as zw:
        zw.write_bytes("config.json", b"{}")
        zw.write_bytes("assets/layers/vocab/vocab.txt", b"a\nb\n")
        zw.write_bytes("assets/top.bin", b"\x01\x02")
    with ArchiveReader(path) as archive:
        assert archive.asset_names() == ["assets/layers/vocab/vocab.txt", "assets/top.bin"]
        written = archive.extract_assets(tmp_path / "out")
    root = os.path.realpath(tmp_path / "out")
    assert written == [os.path.join(root, "layers", "vocab", "vocab.txt"), os.path.join(root, "top.bin")]
    assert (tmp_path / "out" / "layers" / "vocab" / "vocab.txt").read_bytes() == b"a\nb\n"


def test_extract_assets_never_overwrites_or_follows_symlinks(tmp_path):
    path = tmp_path / "m.keras"
    with ArchiveWriter(path) as zw:
        zw.write_bytes("assets/link/sub/file.txt", b"payload")
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", out / "link")  # planted before extraction
    with ArchiveReader(path) as archive:
        with pytest.raises(FileFormatError, match="outside the asset directory"):
            archive.extract_assets(out)
    assert os.listdir(tmp_path / "elsewhere") == []


def test_directory_and_missing_paths(tmp_path):
    with pytest.raises(FileFormatError, match="is a directory"):
        ArchiveReader(tmp_path)
    with pytest.raises(FileNotFoundError):
        ArchiveReader(tmp_path / "missing.keras")


def test_large_weights_member_is_read_in_place(tmp_path):
    kernel = torch.randn(512, 512)
    path = tmp_path / "m.keras"
    with ArchiveWriter(path) as zw, zw.weights_writer() as h5:
        h5.put("layers/dense", [kernel])
    with ArchiveReader(path) as archive, archive.open_weights() as weights:
        assert weights.size == archive.member_span("model.weights.h5")[1]
        out = torch.empty(512, 512)
        weights.read_into("layers/dense", 0, out)
    assert torch.equal(out, kernel)
    assert np.array_equal(out.numpy(), kernel.numpy())
