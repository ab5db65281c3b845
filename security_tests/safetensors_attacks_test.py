"""Hostile safetensors files and shard indexes (safetensors and sharded .weights.h5)."""

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from kiln.errors import FileFormatError, UnsafeFileError
from kiln.saving.h5_sharded import ShardedH5Reader
from kiln.saving.safetensors_store import load_safetensors

ESCAPES = ["../../../outside/secret.safetensors", "/etc/passwd", "sub/../../x.safetensors",
           "..\\..\\secret.safetensors", "..", "C:secret.safetensors"]


def _plant_secret(sandbox):
    secret = sandbox.outside / "secret.safetensors"
    save_file({"secret": torch.arange(4.0)}, str(secret))
    sandbox.freeze()
    return secret


@pytest.mark.parametrize("shard", ESCAPES)
def test_safetensors_index_escaping_directory(sandbox, shard):
    _plant_secret(sandbox)
    index = sandbox.work / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": {"secret": shard}}))
    with pytest.raises(UnsafeFileError, match="is not a plain file name"):
        load_safetensors(index)


@pytest.mark.parametrize("shard", ESCAPES)
def test_h5_shard_index_escaping_directory(sandbox, shard):
    _plant_secret(sandbox)
    index = sandbox.work / "model.weights.json"
    index.write_text(json.dumps({"metadata": {"total_size": 0.0},
                                 "weight_map": {"/layers/dense/vars": ["model_00000.weights.h5", shard]}}))
    with pytest.raises(UnsafeFileError, match="is not a plain file name"):
        ShardedH5Reader(index)


def test_index_weight_map_of_wrong_types(sandbox):
    index = sandbox.work / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": ["x.safetensors"]}}))
    with pytest.raises(FileFormatError, match="'weight_map' object mapping tensor names"):
        load_safetensors(index)
    index.write_text("[" * 5000)
    with pytest.raises(FileFormatError, match="nests lists/objects 5000 levels deep"):
        load_safetensors(index)


def _header_file(sandbox, header, body=b""):
    raw = json.dumps(header).encode()
    path = sandbox.work / "m.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)
    return path


def test_header_size_bomb(sandbox):
    path = sandbox.work / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(FileFormatError, match="m.safetensors is not a valid safetensors file"):
        load_safetensors(path)


def test_tensor_offsets_beyond_file(sandbox):
    path = _header_file(sandbox, {"w": {"dtype": "F32", "shape": [1000, 1000],
                                        "data_offsets": [0, 4_000_000]}}, b"\0" * 16)
    with pytest.raises(FileFormatError, match="not a valid safetensors file"):
        load_safetensors(path)


def test_shape_and_offsets_disagree(sandbox):
    path = _header_file(sandbox, {"w": {"dtype": "F32", "shape": [10**6, 10**6],
                                        "data_offsets": [0, 16]}}, b"\0" * 16)
    with pytest.raises(FileFormatError, match="not a valid safetensors file"):
        load_safetensors(path)


def test_overlapping_tensors(sandbox):
    path = _header_file(sandbox, {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                  "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                        b"\0" * 16)
    with pytest.raises(FileFormatError, match="not a valid safetensors file"):
        load_safetensors(path)
