import json
import os

import numpy as np
import pytest
import torch

from kiln.errors import FileFormatError, UnsafeFileError
from kiln.saving.h5_sharded import ShardedH5Reader, ShardedH5Writer, shard_file_name
from kiln.saving.h5_store import ShardedH5Reader as ReExported

GIB = 1024**3


def test_shard_names_follow_keras():
    assert shard_file_name("d/model.weights.json", 0) == "model_00000.weights.h5"
    assert shard_file_name("d/model.weights.json", 12) == "model_00012.weights.h5"
    assert ReExported is ShardedH5Reader
    with pytest.raises(ValueError, match=r"must end in `.json`"):
        ShardedH5Writer("d/model.weights.h5", 1.0)


def _save(tmp_path, limit_bytes):
    values = {
        "layers/dense": [torch.randn(100, 300), torch.randn(300)],
        "layers/dense_1": [torch.randn(300, 10), torch.randn(10)],
        "optimizer": [torch.tensor(1, dtype=torch.int32), torch.tensor(0.1)]
        + [torch.randn(100, 300), torch.randn(100, 300), torch.randn(300), torch.randn(300)],
        "layers/single": [torch.randn(3)],
    }
    with ShardedH5Writer(tmp_path / "model.weights.json", limit_bytes / GIB) as w:
        w.put("layers/input_layer", [], name="inp")
        for path, arrays in values.items():
            w.put(path, arrays, name=path.split("/")[-1])
        w.put("", [], name="model")
    return values


def test_round_trip_across_shards(tmp_path):
    values = _save(tmp_path, 200_000)
    index = json.loads((tmp_path / "model.weights.json").read_text())
    assert set(index) == {"metadata", "weight_map"}
    assert index["metadata"]["total_size"] == float(sum(v.nbytes for vs in values.values() for v in vs))
    assert isinstance(index["metadata"]["total_size"], float)
    assert index["weight_map"]["/layers/single/vars"] == "model_00002.weights.h5"  # one variable
    assert index["weight_map"]["/optimizer/vars"] == [
        "model_00000.weights.h5", "model_00001.weights.h5", "model_00002.weights.h5"]
    assert sorted(os.listdir(tmp_path)) == ["model.weights.json"] + [
        f"model_0000{i}.weights.h5" for i in range(3)]
    with ShardedH5Reader(tmp_path / "model.weights.json") as r:
        assert r.keys() == set(values)
        assert r.group_name("optimizer") == "optimizer"
        for path, arrays in values.items():
            got = r.get(path, as_torch=True)
            assert len(got) == len(arrays) and all(torch.equal(a, b) for a, b in zip(got, arrays))
        out = torch.empty(100, 300)
        r.read_into("optimizer", 3, out)
        assert torch.equal(out, values["optimizer"][3])
        assert r.specs("optimizer")[0] == ((), "int32")
        assert r.get("layers/input_layer") is None  # empty groups are not in the index


def test_too_big_variable_and_abort_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="exceeds the maximum shard size"):
        with ShardedH5Writer(tmp_path / "model.weights.json", 1000 / GIB) as w:
            w.put("a", [np.zeros(100, np.float32)])
            w.put("b", [np.zeros(1000, np.float32)])
    assert os.listdir(tmp_path) == []


def _index(tmp_path, weight_map):
    path = tmp_path / "model.weights.json"
    path.write_text(json.dumps({"metadata": {"total_size": 0.0}, "weight_map": weight_map}))
    return path


@pytest.mark.parametrize("bad", ["../evil.weights.h5", "/etc/passwd", "sub/x.h5", "..\\x.h5",
                                 "..", "", "C:x.h5"])
def test_shard_names_escaping_directory_are_refused(tmp_path, bad):
    with pytest.raises(UnsafeFileError, match="not a plain file name"):
        ShardedH5Reader(_index(tmp_path, {"/a/vars": ["model_00000.weights.h5", bad]}))


def test_malformed_index(tmp_path):
    with pytest.raises(FileFormatError, match="no 'weight_map'"):
        ShardedH5Reader(_index(tmp_path, None))
    with pytest.raises(FileFormatError, match="not a '/<path>/vars' group name"):
        ShardedH5Reader(_index(tmp_path, {"layers/dense": "m.weights.h5"}))
    with pytest.raises(FileFormatError, match="non-empty list"):
        ShardedH5Reader(_index(tmp_path, {"/a/vars": []}))
    reader = ShardedH5Reader(_index(tmp_path, {"/a/vars": "gone.weights.h5"}))
    with pytest.raises(FileFormatError, match="'gone.weights.h5' listed in .* does not exist"):
        reader.get("a")


def test_keras_oracle_index_and_cross_loading(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    def build():
        inp = keras.Input((100,), name="inp")
        x = keras.layers.Dense(300, name="d1")(inp)
        x = keras.layers.Dropout(0.1)(x)
        return keras.Model(inp, keras.layers.Dense(10, name="d2")(x))

    model = build()
    model.compile("adam", "mse")
    model.fit(np.ones((4, 100)), np.ones((4, 10)), verbose=0)
    (tmp_path / "k").mkdir()
    model.save_weights(tmp_path / "k" / "model.weights.json", max_shard_size=0.0002)
    keras_index = json.loads((tmp_path / "k" / "model.weights.json").read_text())

    with ShardedH5Reader(tmp_path / "k" / "model.weights.json") as r:
        stored = {p: r.get(p, as_torch=True) for p in r.keys()}
    assert torch.equal(stored["layers/dense"][0], model.layers[1].kernel.value.detach())
    assert len(stored["optimizer"]) == 10

    (tmp_path / "n").mkdir()
    with ShardedH5Writer(tmp_path / "n" / "model.weights.json", 0.0002) as w:
        for path in ("layers/dense", "layers/dense_1", "optimizer"):  # Keras's save order
            w.put(path, stored[path])
    ours = json.loads((tmp_path / "n" / "model.weights.json").read_text())
    assert ours == keras_index
    fresh = build()
    fresh.load_weights(tmp_path / "n" / "model.weights.json")
    sample = np.random.rand(3, 100).astype("float32")
    fresh.trainable = model.trainable = False
    np.testing.assert_allclose(np.asarray(fresh(sample).detach()), np.asarray(model(sample).detach()))
