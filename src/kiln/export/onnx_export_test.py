"""`model.export(path, format="onnx")`: onnxruntime parity with a dynamic batch."""

import os

import numpy as np
import onnxruntime
import pytest

import kiln
from kiln.errors import ExportError


def _session(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_functional_model_matches_kiln_at_batch_1_and_5(tmp_path, capsys):
    inputs = kiln.Input(shape=(16,), name="features")
    x = kiln.layers.Dense(8, activation="relu")(inputs)
    x = kiln.layers.BatchNormalization()(x)
    outputs = kiln.layers.Dense(3, activation="softmax")(x)
    model = kiln.Model(inputs, outputs)
    data = np.random.rand(5, 16).astype("float32")
    expected = np.asarray(model(data))
    model.export(tmp_path / "model.onnx", format="onnx")
    assert capsys.readouterr().out.strip() == f"Saved artifact at '{tmp_path / 'model.onnx'}'."
    session = _session(tmp_path / "model.onnx")
    (feed,) = session.get_inputs()
    assert feed.name == "features" and feed.shape == ["batch", 16]
    assert session.get_outputs()[0].shape == ["batch", 3]
    for batch in (1, 5):
        got = session.run(None, {"features": data[:batch]})[0]
        np.testing.assert_allclose(got, expected[:batch], rtol=1e-5, atol=1e-5)
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_multi_input_model_takes_flat_named_inputs(tmp_path):
    a = kiln.Input(shape=(4,), name="a")
    b = kiln.Input(shape=(3,), name="b")
    out = kiln.layers.Dense(2)(kiln.layers.Concatenate()([a, b]))
    model = kiln.Model([a, b], out)
    xa, xb = np.random.rand(5, 4).astype("float32"), np.random.rand(5, 3).astype("float32")
    expected = np.asarray(model([xa, xb]))
    model.export(tmp_path / "two.onnx", format="onnx", verbose=False)
    session = _session(tmp_path / "two.onnx")
    assert [i.name for i in session.get_inputs()] == ["a", "b"]
    for batch in (1, 5):
        got = session.run(None, {"a": xa[:batch], "b": xb[:batch]})[0]
        np.testing.assert_allclose(got, expected[:batch], rtol=1e-5, atol=1e-5)


def test_dynamic_sizes_survive_reshapes_and_layer_norm(tmp_path):
    # Flatten computes `x.reshape(x.shape[0], -1)`; LayerNormalization passes a traced
    # shape to layer_norm. Each breaks one of the two conversion routes.
    pixels = kiln.Input((8, 8, 1), name="pixels")
    x = kiln.layers.Conv2D(2, 3, activation="relu")(pixels)
    cnn = kiln.Model(pixels, kiln.layers.Dense(2)(kiln.layers.Flatten()(x)))
    tokens = kiln.Input((None,), dtype="int32", name="tokens")
    h = kiln.layers.Embedding(20, 4)(tokens)
    h = kiln.layers.LayerNormalization()(h)
    nlp = kiln.Model(tokens, kiln.layers.Dense(2)(kiln.layers.GlobalAveragePooling1D()(h)))
    rng = np.random.default_rng(0)
    cases = [(cnn, "pixels", rng.random((5, 8, 8, 1)).astype("float32")),
             (nlp, "tokens", rng.integers(0, 20, (5, 9)).astype("int32"))]
    for model, name, data in cases:
        model.export(tmp_path / f"{name}.onnx", format="onnx", verbose=False)
        session = _session(tmp_path / f"{name}.onnx")
        for batch in (1, 5):
            got = session.run(None, {name: data[:batch]})[0]
            np.testing.assert_allclose(got, np.asarray(model(data[:batch])), rtol=1e-5,
                                       atol=1e-5)
    short = rng.integers(0, 20, (2, 3)).astype("int32")
    np.testing.assert_allclose(session.run(None, {"tokens": short})[0],
                               np.asarray(nlp(short)), rtol=1e-5, atol=1e-5)


def test_external_data_puts_weights_beside_the_file(tmp_path):
    model = kiln.Sequential([kiln.Input((64,)), kiln.layers.Dense(64), kiln.layers.Dense(2)])
    data = np.random.rand(3, 64).astype("float32")
    model.export(tmp_path / "ext.onnx", format="onnx", verbose=False, external_data=True)
    assert sorted(os.listdir(tmp_path)) == ["ext.onnx", "ext.onnx.data"]
    assert os.path.getsize(tmp_path / "ext.onnx") < 4096  # the weights are in the .data file
    session = _session(tmp_path / "ext.onnx")
    got = session.run(None, {session.get_inputs()[0].name: data})[0]
    np.testing.assert_allclose(got, np.asarray(model(data)), rtol=1e-5, atol=1e-5)


class _Branchy(kiln.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = kiln.layers.Dense(2)

    def call(self, x):
        y = self.dense(x)
        if kiln.ops.sum(y) > 0:
            return y
        return -y


def test_untraceable_model_fails_cleanly(tmp_path):
    model = _Branchy()
    model(np.ones((2, 3), "float32"))
    with pytest.raises(ExportError, match="control flow that depends on the values"):
        model.export(tmp_path / "bad.onnx", format="onnx")
    assert os.listdir(tmp_path) == []


def test_unknown_onnx_arguments_are_refused(tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    with pytest.raises(ExportError, match=r"Unsupported arguments for format='onnx': \['dynamo'\]"):
        model.export(tmp_path / "m.onnx", format="onnx", dynamo=True)
