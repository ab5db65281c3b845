import io
import os
import struct
import subprocess
import zipfile
import zlib

import numpy as np
import pytest
import torch

from kiln.saving.zip_archive import ArchiveReader
from kiln.saving.zip_writer import ArchiveWriter


def _write(target, assets_dir=None):
    kernel = torch.randn(64, 32)
    with ArchiveWriter(target) as zw:
        zw.write_json("metadata.json", {"keras_version": "3.15.1", "date_saved": "x"})
        zw.write_json("config.json", {"class_name": "Dense", "name": "dénse"})
        with zw.weights_writer() as h5:
            h5.put("layers/dense", [kernel, torch.zeros(32)], name="d1")
            h5.put("", [], name="model")
        if assets_dir:
            zw.add_assets(assets_dir)
    return kernel


def test_members_match_keras_conventions(tmp_path):
    assets = tmp_path / "a" / "layers" / "vocab"
    assets.mkdir(parents=True)
    (assets / "vocab.txt").write_text("a\nb\n")
    (assets / "ünï.txt").write_bytes(b"\x00" * 10)
    path = tmp_path / "m.keras"
    _write(path, tmp_path / "a")
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every CRC checks out
        infos = zf.infolist()
        assert [i.filename for i in infos] == [
            "metadata.json", "config.json", "model.weights.h5",
            "assets/layers/vocab/vocab.txt", "assets/layers/vocab/ünï.txt"]
        for info in infos:
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.external_attr == 0o600 << 16
        assert infos[0].date_time == infos[1].date_time == (1980, 1, 1, 0, 0, 0)
        assert infos[2].date_time[0] >= 2024
        assert zf.read("config.json") == b'{"class_name": "Dense", "name": "d\\u00e9nse"}'
        assert zf.read("assets/layers/vocab/ünï.txt") == b"\x00" * 10


def test_unzip_accepts_archive(tmp_path):
    path = tmp_path / "m.keras"
    _write(path)
    unzip = "/usr/bin/unzip"
    if not os.path.exists(unzip):
        pytest.skip("unzip not installed")
    result = subprocess.run([unzip, "-t", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "No errors detected" in result.stdout


@pytest.mark.parametrize("prefix", [b"", b"#!/bin/sh\nexit 0\n"])
def test_bytesio_target_with_and_without_prefix(prefix):
    buffer = io.BytesIO()
    buffer.write(prefix)
    kernel = _write(buffer)
    assert buffer.getvalue().startswith(prefix)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zf:
        assert zf.testzip() is None
    with ArchiveReader(io.BytesIO(buffer.getvalue())) as archive, archive.open_weights() as w:
        np.testing.assert_array_equal(w.get("layers/dense")[0], kernel.numpy())


def test_zip64_header_of_streamed_member_is_patched(tmp_path):
    path = tmp_path / "m.keras"
    _write(path)
    with ArchiveReader(path) as archive:
        offset, length = archive.member_span("model.weights.h5")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        header = zf.getinfo("model.weights.h5").header_offset
    name_len = struct.unpack_from("<H", data, header + 26)[0]
    assert struct.unpack_from("<II", data, header + 18) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert struct.unpack_from("<HHQQ", data, header + 30 + name_len) == (1, 16, length, length)
    assert data[offset:offset + 8] == b"\x89HDF\r\n\x1a\n"


def test_written_member_locates_bytes_before_close():
    buffer = io.BytesIO()
    with ArchiveWriter(buffer) as zw:
        zw.write_bytes("config.json", b'{"k": 1}')
        with zw.weights_writer() as h5:
            h5.put("a", [np.zeros(3)])
        start, size, crc = zw.written_member("model.weights.h5")
        assert buffer.getvalue()[start:start + 8] == b"\x89HDF\r\n\x1a\n"
        assert crc == zlib.crc32(buffer.getvalue()[start:start + size])
        start, size, _ = zw.written_member("config.json")
        assert buffer.getvalue()[start:start + size] == b'{"k": 1}'
        with pytest.raises(KeyError):
            zw.written_member("metadata.json")


def test_failure_keeps_previous_archive(tmp_path):
    path = tmp_path / "m.keras"
    _write(path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="model broke"):
        with ArchiveWriter(path) as zw:
            zw.write_json("config.json", {})
            with zw.weights_writer() as h5:
                h5.put("layers/dense", [torch.zeros(3)])
                raise RuntimeError("model broke")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_writer_rejects_bad_names(tmp_path):
    with ArchiveWriter(io.BytesIO()) as zw:
        for bad in ("../x", "/abs", "evil.txt", "assets/a\\b"):
            with pytest.raises(ValueError, match="Cannot add member"):
                zw.write_bytes(bad, b"")
        zw.write_bytes("config.json", b"{}")
        with pytest.raises(ValueError, match="already added"):
            zw.write_bytes("config.json", b"{}")


def test_keras_loads_kiln_archive_and_kiln_reads_keras_archive(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    inp = keras.Input((4,), name="inp")
    out = keras.layers.Dense(2, name="d2")(keras.layers.Dense(3, activation="relu", name="d1")(inp))
    model = keras.Model(inp, out, name="small")
    model.save(tmp_path / "keras.keras")
    with zipfile.ZipFile(tmp_path / "keras.keras") as zf:
        keras_infos = zf.infolist()

    with ArchiveReader(tmp_path / "keras.keras") as archive:
        metadata = archive.read_json("metadata.json")
        config = archive.read_json("config.json")
        with archive.open_weights() as weights:
            stored = {p: (weights.get(p), weights.group_name(p)) for p in weights.keys()}
    assert metadata["keras_version"] == keras.__version__
    np.testing.assert_array_equal(stored["layers/dense"][0][0], model.layers[1].kernel.numpy())

    with ArchiveWriter(tmp_path / "kiln.keras") as zw:
        zw.write_json("metadata.json", metadata)
        zw.write_json("config.json", config)
        with zw.weights_writer() as h5:
            for path, (arrays, name) in stored.items():
                h5.put(path, arrays, name=name)
    with zipfile.ZipFile(tmp_path / "kiln.keras") as zf:
        ours = zf.infolist()
    for mine, theirs in zip(ours, keras_infos):
        assert (mine.filename, mine.compress_type, mine.external_attr) == (
            theirs.filename, theirs.compress_type, theirs.external_attr)
    assert ours[1].date_time == keras_infos[1].date_time
    restored = keras.saving.load_model(tmp_path / "kiln.keras")
    sample = np.random.rand(3, 4).astype("float32")
    np.testing.assert_array_equal(np.asarray(restored(sample).detach()),
                                  np.asarray(model(sample).detach()))


def test_first_weights_member_is_aligned_for_native_hdf5(tmp_path):
    path = tmp_path / "m.keras"
    kernel = torch.randn(300, 7)
    with ArchiveWriter(path) as zw:
        with zw.weights_writer() as h5:
            h5.put("layers/dense", [kernel, torch.zeros(7)], name="d1")
        start, size, crc = zw.written_member("model.weights.h5")
        zw.write_json("config.json", {"k": 1})
    assert start == 512
    data = path.read_bytes()
    assert data[:4] == b"PK\x03\x04" and data[512:520] == b"\x89HDF\r\n\x1a\n"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == ["model.weights.h5", "config.json"]
        assert zf.read("model.weights.h5") == data[512:512 + size]
        assert crc == zlib.crc32(data[512:512 + size])
    import h5py

    with h5py.File(path, "r") as f:  # libhdf5 finds the member inside the zip by itself
        assert f.id.get_create_plist().get_userblock() == 512
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], kernel.numpy())
    with ArchiveReader(path) as archive, archive.open_weights() as weights:
        assert weights._h5.driver == "sec2"
        np.testing.assert_array_equal(weights.get("layers/dense")[0], kernel.numpy())
