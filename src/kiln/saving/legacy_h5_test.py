"""Legacy `.h5` files: kiln round trips, file layout, golden Keras 2 / Keras 3 / kiln files."""

import json
import os
import warnings

import h5py
import numpy as np
import pytest
import torch

import kiln
from kiln.errors import FileFormatError, WeightsMismatchError
from kiln.saving import legacy_h5_io as io

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test_data", "legacy_h5")


def golden(name):
    return os.path.join(GOLDEN, name)


def predict(model, x):
    with torch.no_grad():
        return np.asarray(model(x))


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.uniform(0.5, 1.5, v.shape).astype(np.float32))


def load(path, **kwargs):
    kwargs.setdefault("compile", False)
    return kiln.saving.load_model(path, **kwargs)


def _functional_with_shared_layers():
    inp = kiln.Input((4,), name="inp")
    shared = kiln.layers.Dense(4, activation="tanh", name="shared")
    x = shared(shared(inp))
    x = kiln.layers.BatchNormalization(name="bn")(x)
    out = kiln.layers.Dense(2, name="out")(x)
    return kiln.Model(inp, out, name="shared_model")


def _nested_sequential():
    inner = kiln.Sequential([kiln.layers.Dense(3, activation="relu", name="inner_dense"),
                             kiln.layers.BatchNormalization(name="inner_bn")], name="inner")
    return kiln.Sequential([kiln.Input((5,)), kiln.layers.Dense(4, name="first"), inner,
                            kiln.layers.Dropout(0.3, name="drop"),
                            kiln.layers.Dense(2, name="last")], name="outer")


# -- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("build, width", [(_functional_with_shared_layers, 4),
                                          (_nested_sequential, 5)])
def test_round_trip_predictions_equal(tmp_path, build, width):
    model = build()
    randomize(model)
    path = tmp_path / "m.h5"
    assert kiln.saving.save_model(model, path) is not None
    restored = load(path)
    assert type(restored) is type(model)
    assert [l.name for l in restored.layers] == [l.name for l in model.layers]
    x = np.random.default_rng(1).normal(size=(3, width)).astype(np.float32)
    np.testing.assert_array_equal(predict(restored, x), predict(model, x))


def test_nested_functional_round_trip(tmp_path):
    inner_in = kiln.Input((3,), name="inner_in")
    inner = kiln.Model(inner_in, kiln.layers.Dense(2, name="inner_d")(inner_in), name="inner")
    inp = kiln.Input((3,), name="inp")
    out = kiln.layers.Add(name="sum")([inner(inp), kiln.layers.Dense(2, name="side")(inp)])
    model = kiln.Model(inp, out, name="outer")
    randomize(model, 3)
    model.save(tmp_path / "nested.hdf5")
    restored = load(tmp_path / "nested.hdf5")
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(predict(restored, x), predict(model, x))


def test_file_layout_follows_keras3(tmp_path):
    model = _nested_sequential()
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path) as f:
        assert f.attrs["backend"] == "torch" and f.attrs["keras_version"] == "3.15.1"
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        entries = config["config"]["layers"]
        assert [e["class_name"] for e in entries] == ["InputLayer", "Dense", "Sequential",
                                                      "Dropout", "Dense"]
        nested = entries[2]["config"]["layers"]
        for entry in entries + nested:
            assert set(entry) == {"class_name", "config"}, entry.keys()
        # Sub-objects produced by get_config keep their Keras 3 envelope.
        assert entries[1]["config"]["kernel_initializer"]["module"] == "keras.initializers"
        weights = f["model_weights"]
        assert [n.decode() for n in weights.attrs["layer_names"]] == \
            ["first", "inner", "drop", "last"]
        assert weights.attrs["backend"] in ("torch", b"torch")
        names = [n.decode() for n in weights["inner"].attrs["weight_names"]]
        assert names == [v.path for v in model.get_layer("inner").trainable_weights
                         + model.get_layer("inner").non_trainable_weights]
        assert names[-1].endswith("inner_bn/moving_variance")
        assert weights["inner"][names[0]].shape == (4, 3)
        assert weights["drop"].attrs["weight_names"].shape == (0,)
        assert "top_level_model_weights" in weights
        assert list(weights.keys()) == sorted(weights.keys())


def test_functional_config_keeps_node_form_and_io_refs(tmp_path):
    model = _functional_with_shared_layers()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        config = json.loads(f.attrs["model_config"])
    assert config["class_name"] == "Functional"
    shared = next(e for e in config["config"]["layers"] if e["name"] == "shared")
    assert set(shared) == {"class_name", "config", "name", "inbound_nodes"}
    assert len(shared["inbound_nodes"]) == 2
    assert shared["inbound_nodes"][1]["args"][0]["config"]["keras_history"] == ["shared", 0, 0]
    assert config["config"]["output_layers"] == ["out", 0, 0]


def test_save_is_atomic(tmp_path, monkeypatch):
    model = _functional_with_shared_layers()
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()

    def broken(group, name, value):
        raise RuntimeError("disk full")

    monkeypatch.setattr(io, "write_tensor", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.h5"]


def test_save_creates_missing_directories(tmp_path):
    path = tmp_path / "a" / "b" / "m.h5"
    _nested_sequential().save(path)
    assert path.exists()


# -- attributes ----------------------------------------------------------------------------
def test_oversized_name_lists_are_split_and_joined(tmp_path):
    names = [f"layer_{i:05d}_" + "x" * 200 for i in range(400)]  # ~83 KB
    with h5py.File(tmp_path / "a.h5", "w") as f:
        io.write_list_attr(f, "layer_names", names)
        assert "layer_names" not in f.attrs
        assert {"layer_names0", "layer_names1"} <= set(f.attrs)
        assert all(f.attrs[k].nbytes <= io.HDF5_OBJECT_HEADER_LIMIT for k in f.attrs)
    with h5py.File(tmp_path / "a.h5") as f:
        assert io.read_list_attr(f, "layer_names", "test") == names


def test_model_with_oversized_layer_names_round_trips(tmp_path):
    layers = [kiln.layers.Dense(2, name=f"d{i}_" + "n" * 1700) for i in range(40)]
    model = kiln.Sequential([kiln.Input((2,))] + layers)
    randomize(model, 7)
    model.save(tmp_path / "long.h5")
    with h5py.File(tmp_path / "long.h5") as f:
        assert "layer_names0" in f["model_weights"].attrs
    restored = load(tmp_path / "long.h5")
    x = np.ones((1, 2), np.float32)
    np.testing.assert_array_equal(predict(restored, x), predict(model, x))


def test_text_attributes_accept_bytes_str_and_split_parts(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.attrs["a"] = b"bytes"
        f.attrs["b"] = "text"
        f.attrs["c0"], f.attrs["c1"] = '{"x": ', "1}"
        f.attrs["bad"] = np.arange(3)
    with h5py.File(tmp_path / "a.h5") as f:
        assert io.read_text_attr(f, "a", "t") == "bytes"
        assert io.read_text_attr(f, "b", "t") == "text"
        assert io.decode_config(io.read_text_attr(f, "c", "t"), "t") == {"x": 1}
        assert io.read_text_attr(f, "missing", "t") is None
        with pytest.raises(FileFormatError, match="attribute 'bad'"):
            io.read_text_attr(f, "bad", "t")


def test_legacy_json_tuples_are_decoded():
    text = json.dumps({"a": {"class_name": "__tuple__", "items": [1, {"class_name": "__tuple__",
                                                                          "items": [2]}]}})
    assert io.decode_config(text, "t") == {"a": [1, [2]]}


# -- golden files --------------------------------------------------------------------------
def _dataset(f, layer, weight):
    return f[f"model_weights/{layer}/{layer}/{weight}:0"][()]


def test_keras2_functional_golden_loads_with_correct_predictions():
    model = load(golden("keras2_functional.h5"))
    assert [l.name for l in model.layers] == ["input_1", "dense", "batch_normalization", "dense_1"]
    assert model.get_layer("batch_normalization").axis in (1, -1, [1])
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    with h5py.File(golden("keras2_functional.h5")) as f:
        h = np.maximum(x @ _dataset(f, "dense", "kernel") + _dataset(f, "dense", "bias"), 0)
        bn = {w: _dataset(f, "batch_normalization", w)
              for w in ("gamma", "beta", "moving_mean", "moving_variance")}
        h = bn["gamma"] * (h - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) \
            + bn["beta"]
        expected = h @ _dataset(f, "dense_1", "kernel") + _dataset(f, "dense_1", "bias")
    np.testing.assert_allclose(predict(model, x), expected, rtol=1e-5, atol=1e-5)


def test_keras2_shared_layer_golden_loads_with_correct_predictions():
    model = load(golden("keras2_shared.h5"))
    rng = np.random.default_rng(1)
    a, b = (rng.normal(size=(4, 4)).astype(np.float32) for _ in range(2))
    with h5py.File(golden("keras2_shared.h5")) as f:
        k, bias = _dataset(f, "shared", "kernel"), _dataset(f, "shared", "bias")
        s = np.tanh(a @ k + bias) + np.tanh(b @ k + bias)
        logits = s @ _dataset(f, "head", "kernel") + _dataset(f, "head", "bias")
    np.testing.assert_allclose(predict(model, [a, b]), 1 / (1 + np.exp(-logits)),
                               rtol=1e-5, atol=1e-6)


def test_keras2_sequential_golden_loads_with_correct_predictions():
    model = load(golden("keras2_sequential.h5"))
    assert isinstance(model, kiln.Sequential)
    x = np.random.default_rng(2).normal(size=(3, 6)).astype(np.float32)
    with h5py.File(golden("keras2_sequential.h5")) as f:
        h = np.maximum(x @ _dataset(f, "dense", "kernel") + _dataset(f, "dense", "bias"), 0)
        z = h @ _dataset(f, "dense_1", "kernel") + _dataset(f, "dense_1", "bias")
    expected = np.exp(z - z.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(predict(model, x), expected, rtol=1e-5, atol=1e-6)


def test_keras2_weights_only_file_loads_by_order_when_names_differ():
    model = load(golden("keras2_functional.h5"))
    model.load_weights(golden("keras2_weights.h5"))
    with h5py.File(golden("keras2_weights.h5")) as f:
        expected = f["dense_13/dense_13/kernel:0"][()]
    np.testing.assert_array_equal(model.get_layer("dense_1").kernel.numpy(), expected)


@pytest.mark.parametrize("name", ["keras3_functional", "kiln_functional"])
def test_keras3_and_kiln_golden_files_predict_as_recorded(name):
    expected = np.load(golden("expected.npz"))
    model = load(golden(f"{name}.h5"))
    np.testing.assert_allclose(predict(model, expected[f"{name}_x"]), expected[f"{name}_y"],
                               rtol=1e-5, atol=1e-6)


def test_golden_files_are_small():
    for name in os.listdir(GOLDEN):
        assert os.path.getsize(golden(name)) < 50_000, name


# -- weights only and mismatches -----------------------------------------------------------
def test_weights_only_round_trip_and_layout(tmp_path):
    model = _functional_with_shared_layers()
    randomize(model, 5)
    path = tmp_path / "w.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert "model_config" not in f.attrs
        assert [n.decode() for n in f.attrs["layer_names"]] == ["inp", "shared", "bn", "out"]
    fresh = _functional_with_shared_layers()
    fresh.load_weights(path)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(predict(fresh, x), predict(model, x))
    with pytest.raises(FileFormatError, match="only weights"):
        load(path)


def test_load_weights_reads_whole_model_files(tmp_path):
    model = _nested_sequential()
    randomize(model, 6)
    model.save(tmp_path / "m.h5")
    fresh = _nested_sequential()
    fresh.load_weights(tmp_path / "m.h5")
    x = np.ones((2, 5), np.float32)
    np.testing.assert_array_equal(predict(fresh, x), predict(model, x))


def _other_model(units):
    inp = kiln.Input((4,), name="inp")
    x = kiln.layers.Dense(units, activation="tanh", name="shared")(inp)
    x = kiln.layers.BatchNormalization(name="bn")(x)
    return kiln.Model(inp, kiln.layers.Dense(2, name="out")(x))


def test_mismatches_are_all_reported_then_skippable(tmp_path):
    source = _functional_with_shared_layers()
    source.save_weights(tmp_path / "w.h5")
    target = _other_model(5)
    before = target.get_layer("out").kernel.numpy().copy()
    with pytest.raises(WeightsMismatchError) as err:
        target.load_weights(tmp_path / "w.h5")
    text = str(err.value)
    assert "layer 'shared': shared/kernel expected (4, 5) float32, found (4, 4) float32" in text
    assert "layer 'bn': bn/gamma expected (5,)" in text
    assert "layer 'out': out/kernel expected (5, 2)" in text
    assert len(err.value.problems) == 7
    np.testing.assert_array_equal(target.get_layer("out").kernel.numpy(), before)
    with pytest.warns(UserWarning, match="skip_mismatch=True"):
        target.load_weights(tmp_path / "w.h5", skip_mismatch=True)
    np.testing.assert_array_equal(target.get_layer("out").bias.numpy(),
                                  source.get_layer("out").bias.numpy())


def test_missing_and_extra_layers_are_named(tmp_path):
    _functional_with_shared_layers().save_weights(tmp_path / "w.h5")
    inp = kiln.Input((4,), name="inp")
    model = kiln.Model(inp, kiln.layers.Dense(2, name="other")(
        kiln.layers.Dense(4, name="shared")(inp)))
    with pytest.raises(WeightsMismatchError) as err:
        model.load_weights(tmp_path / "w.h5")
    text = str(err.value)
    assert "layer 'other': present in the model (2 weights), missing from the file" in text
    assert "layer 'bn': present in the file (4 weights), not used by the model" in text


def test_not_an_h5_file_is_a_format_error(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(FileFormatError, match="not a readable HDF5 file"):
        load(path)


def test_lambda_from_keras2_list_form_loads_with_safe_mode_off(tmp_path):
    import base64
    import marshal

    code = base64.encodebytes(marshal.dumps((lambda x: x * 2.0 + 1.0).__code__)).decode()
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3],
                                                "dtype": "float32", "name": "i"}},
        {"class_name": "Lambda", "config": {
            "name": "lam", "trainable": True, "dtype": "float32", "function": [code, None, None],
            "function_type": "lambda", "module": "__main__", "output_shape": None,
            "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}]}}
    path = tmp_path / "lam.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = "2.15.0", "tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([b"lam"])
        group.create_group("lam").attrs["weight_names"] = np.zeros((0,))
    model = load(path, safe_mode=False)
    np.testing.assert_allclose(predict(model, np.ones((1, 3), np.float32)), [[3.0, 3.0, 3.0]])


def test_uncompiled_file_warns_when_compile_requested(tmp_path):
    _nested_sequential().save(tmp_path / "m.h5")
    with pytest.warns(UserWarning, match="No training configuration"):
        kiln.saving.load_model(tmp_path / "m.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(tmp_path / "m.h5")


def _write_keras2_sequential(path, model_config, kernel, bias):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = b"2.2.4", b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([b"dense_1"])
        layer = group.create_group("dense_1")
        layer.attrs["weight_names"] = np.array([b"dense_1/kernel:0", b"dense_1/bias:0"])
        layer["dense_1/kernel:0"], layer["dense_1/bias:0"] = kernel, bias


@pytest.mark.parametrize("form", ["no_input_layer", "bare_list"])
def test_old_keras2_sequential_forms_build_from_batch_input_shape(tmp_path, form):
    dense = {"class_name": "Dense", "config": {
        "name": "dense_1", "trainable": True, "batch_input_shape": [None, 3], "dtype": "float32",
        "units": 2, "activation": "linear", "use_bias": True,
        "kernel_initializer": {"class_name": "VarianceScaling", "config": {
            "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}}}
    layers = [dense]
    config = {"class_name": "Sequential", "config": layers if form == "bare_list" else {
        "name": "sequential_1", "layers": layers}}
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
    bias = np.array([0.5, -0.5], np.float32)
    _write_keras2_sequential(tmp_path / "old.h5", config, kernel, bias)
    model = load(tmp_path / "old.h5")
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(predict(model, x), x @ kernel + bias)


class _Scale(kiln.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_layers_registered_or_passed_by_name(tmp_path):
    saved = dict(kiln.saving.get_custom_objects())
    try:
        registered = kiln.saving.register_keras_serializable(package="lh5")(
            type("Registered", (_Scale,), {}))
        inp = kiln.Input((3,), name="inp")
        x = registered(3.0, name="reg")(inp)
        model = kiln.Model(inp, _Scale(0.5, name="plain")(x))
        randomize(model, 8)
        model.save(tmp_path / "c.h5")
        with h5py.File(tmp_path / "c.h5") as f:
            entries = json.loads(f.attrs["model_config"])["config"]["layers"]
        names = [e["class_name"] for e in entries]
        assert names == ["InputLayer", "lh5>Registered", "_Scale"]
        with pytest.raises(kiln.errors.DeserializationError, match="_Scale"):
            load(tmp_path / "c.h5")
        restored = load(tmp_path / "c.h5", custom_objects={"_Scale": _Scale})
        x = np.ones((2, 3), np.float32)
        np.testing.assert_array_equal(predict(restored, x), predict(model, x))
    finally:
        kiln.saving.get_custom_objects().clear()
        kiln.saving.get_custom_objects().update(saved)
