import json
import os

import pytest
import torch
from safetensors import safe_open

from kiln.errors import FileFormatError
from kiln.saving.safetensors_store import load_safetensors, parse_size, save_safetensors


def _tensors():
    return {
        "dense.kernel": torch.randn(64, 32),
        "dense.bias": torch.randn(32),
        "embed": torch.randn(100, 16).bfloat16(),
        "step": torch.tensor(3, dtype=torch.int64),
        "view": torch.randn(8, 4).t(),  # non-contiguous
    }


def test_single_file_round_trip_with_metadata(tmp_path):
    tensors = _tensors()
    path = save_safetensors(tmp_path / "model.safetensors", tensors, metadata={"format": "pt"})
    assert path == str(tmp_path / "model.safetensors")
    assert os.listdir(tmp_path) == ["model.safetensors"]
    loaded = load_safetensors(path)
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    with safe_open(path, framework="pt") as f:
        assert f.metadata() == {"format": "pt"}


def test_sharded_round_trip_hf_layout(tmp_path):
    tensors = _tensors()
    index_path = save_safetensors(tmp_path / "model.safetensors", tensors, max_shard_size=9000)
    assert index_path == str(tmp_path / "model.safetensors.index.json")
    assert sorted(os.listdir(tmp_path)) == [
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json"]
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in tensors.values())
    assert index["weight_map"]["dense.kernel"] == "model-00001-of-00002.safetensors"
    assert index["weight_map"]["embed"] == "model-00002-of-00002.safetensors"
    for source in (index_path, tmp_path / "model.safetensors"):
        loaded = load_safetensors(source)
        assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)


def test_fits_in_one_shard_writes_single_file(tmp_path):
    path = save_safetensors(tmp_path / "m.safetensors", {"a": torch.zeros(3)}, max_shard_size="1MB")
    assert path.endswith("m.safetensors") and os.listdir(tmp_path) == ["m.safetensors"]


def test_parse_size():
    assert parse_size("5GB") == 5 * 10**9
    assert parse_size("500MiB") == 500 * 2**20
    assert parse_size(1234) == 1234
    with pytest.raises(ValueError, match="positive byte count"):
        parse_size("lots")
    with pytest.raises(ValueError, match="positive byte count"):
        parse_size(0)


def test_failed_save_keeps_previous_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors(path, {"a": torch.ones(2)})
    before = path.read_bytes()
    base = torch.zeros(4)
    with pytest.raises(RuntimeError, match="share memory"):
        save_safetensors(path, {"a": base, "b": base})  # shared memory: safetensors refuses
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]
    with pytest.raises(TypeError, match="dict of str to str"):
        save_safetensors(path, {"a": torch.ones(1)}, metadata={"n": 1})


def test_damaged_and_missing_files(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(FileFormatError, match="bad.safetensors is not a valid safetensors file"):
        load_safetensors(tmp_path / "bad.safetensors")
    with pytest.raises(FileNotFoundError, match="No safetensors file"):
        load_safetensors(tmp_path / "none.safetensors")
    index = tmp_path / "m.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "m-00001-of-00001.safetensors"}}))
    with pytest.raises(FileFormatError, match="does not exist"):
        load_safetensors(index)
    save_safetensors(tmp_path / "m-00001-of-00001.safetensors", {"b": torch.zeros(1)})
    with pytest.raises(FileFormatError, match=r"places tensors \['a'\]"):
        load_safetensors(index)
