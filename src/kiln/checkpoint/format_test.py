import json
import os
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open

from kiln.checkpoint import format as fmt
from kiln.errors import FileFormatError

TENSORS = {
    "a/kernel": torch.arange(12, dtype=torch.float32).reshape(3, 4),
    "b/half": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
    "c/step": torch.tensor(7, dtype=torch.int64),
    "d/mask": torch.tensor([True, False, True]),
    "e/empty": torch.zeros((0, 5), dtype=torch.float64),
    "f/bytes": torch.frombuffer(bytearray(b"abc"), dtype=torch.uint8),
}


def _write(tmp_path):
    prefix = str(tmp_path / "ckpt")
    fmt.write(prefix, TENSORS)
    return prefix


def test_round_trip_every_dtype(tmp_path):
    prefix = _write(tmp_path)
    size = os.path.getsize(fmt.data_path(prefix))
    entries, metadata = fmt.read_header(fmt.data_path(prefix), size)
    assert metadata["format"] == "kiln.checkpoint" and metadata["format_version"] == "1"
    with open(fmt.data_path(prefix), "rb", buffering=0) as f:
        for key, tensor in TENSORS.items():
            entry = entries[key]
            assert entry.offset % tensor.element_size() == 0  # aligned
            got = fmt.read_tensor(f, entry)
            assert got.dtype == tensor.dtype and torch.equal(got, tensor)


def test_data_file_is_plain_safetensors(tmp_path):
    prefix = _write(tmp_path)
    with safe_open(fmt.data_path(prefix), framework="pt") as f:
        assert set(f.keys()) == set(TENSORS)
        assert torch.equal(f.get_tensor("a/kernel"), TENSORS["a/kernel"])
        assert f.metadata()["format"] == "kiln.checkpoint"


def test_index_lists_absolute_offsets(tmp_path):
    prefix = _write(tmp_path)
    index = fmt.read_index(fmt.index_path(prefix))
    size = os.path.getsize(fmt.data_path(prefix))
    entries, metadata = fmt.read_header(fmt.data_path(prefix), size)
    assert index["save_id"] == metadata["save_id"] and index["data_file_size"] == size
    fmt.check_index(index, entries, "i", "d", size)
    raw = open(fmt.data_path(prefix), "rb").read()
    info = index["entries"]["a/kernel"]
    got = np.frombuffer(raw[info["offset"]:info["offset"] + info["size"]], dtype=np.float32)
    np.testing.assert_array_equal(got, np.arange(12))


def test_read_into_fills_existing_memory(tmp_path):
    prefix = _write(tmp_path)
    entries, _ = fmt.read_header(fmt.data_path(prefix), os.path.getsize(fmt.data_path(prefix)))
    out = torch.zeros(3, 4)
    pointer = out.data_ptr()
    with open(fmt.data_path(prefix), "rb", buffering=0) as f:
        fmt.read_into(f, entries["a/kernel"], out)
    assert out.data_ptr() == pointer and torch.equal(out, TENSORS["a/kernel"])
    with pytest.raises(ValueError, match="bytes"):
        with open(fmt.data_path(prefix), "rb", buffering=0) as f:
            fmt.read_into(f, entries["a/kernel"], torch.zeros(2))


def test_non_contiguous_tensor_is_written_by_value(tmp_path):
    t = torch.arange(6.0).reshape(2, 3).t()
    fmt.write(str(tmp_path / "x"), {"t": t})
    path = fmt.data_path(str(tmp_path / "x"))
    entries, _ = fmt.read_header(path, os.path.getsize(path))
    with open(path, "rb", buffering=0) as f:
        assert torch.equal(fmt.read_tensor(f, entries["t"]), t)


def _file(tmp_path, header, body=b""):
    raw = json.dumps(header).encode()
    path = tmp_path / "bad.data"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)
    return str(path), os.path.getsize(path)


@pytest.mark.parametrize("header, body, match", [
    ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8, "does not fit"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, b"\0" * 16, "does not fit"),
    ({"x": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unknown or missing"),
    ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "invalid shape"),
    ({"x": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
      "y": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\0" * 8, "overlap"),
])
def test_header_bounds_are_checked(tmp_path, header, body, match):
    path, size = _file(tmp_path, header, body)
    with pytest.raises(FileFormatError, match=match):
        fmt.read_header(path, size)


def test_header_length_beyond_file(tmp_path):
    path = tmp_path / "bad.data"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(FileFormatError, match="declares a 1000000000000-byte header"):
        fmt.read_header(str(path), os.path.getsize(path))
    path.write_bytes(b"\1\2")
    with pytest.raises(FileFormatError, match="truncated"):
        fmt.read_header(str(path), 2)


def test_unsupported_dtype_is_refused(tmp_path):
    with pytest.raises(TypeError, match="Cannot store tensors of dtype"):
        fmt.write(str(tmp_path / "x"), {"q": torch.zeros(2, dtype=torch.complex128)})
