"""Model directories: full round trips, and revival from the exported program."""

import json
import os

import numpy as np
import pytest

import kiln
from kiln.errors import FileFormatError, RevivedModelError


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 8)).astype("float32"), rng.random((n, 1)).astype("float32")


def _compiled_model():
    inputs = kiln.Input(shape=(8,))
    x = kiln.layers.Dense(16, activation="relu")(inputs)
    outputs = kiln.layers.Dense(1)(x)
    model = kiln.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
    return model


def test_round_trip_restores_compile_and_optimizer_state_and_training_resumes(tmp_path):
    x, y = _data()
    model = _compiled_model()
    model.fit(x, y, batch_size=16, verbose=0)
    model.save(tmp_path / "my_model")
    assert sorted(os.listdir(tmp_path / "my_model")) == [
        "config.json", "exported", "metadata.json", "model.weights.h5"]
    meta = json.loads((tmp_path / "my_model" / "metadata.json").read_text())
    assert set(meta["kiln"]["checksums"]) == {"config.json", "model.weights.h5",
                                              "exported/manifest.json"}
    restored = kiln.models.load_model(tmp_path / "my_model")
    assert type(restored) is type(model)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    assert int(restored.optimizer.iterations.numpy()) == 4
    for a, b in zip(restored.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    restored.fit(x, y, batch_size=16, verbose=0)
    assert int(restored.optimizer.iterations.numpy()) == 8
    # The directory also holds an inference program that runs without the model code.
    served = kiln.export.load(tmp_path / "my_model").serve(x)
    np.testing.assert_allclose(served.numpy(), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_compile_false_and_damaged_weights(tmp_path):
    model = _compiled_model()
    model.save(tmp_path / "m")
    assert not getattr(kiln.models.load_model(tmp_path / "m", compile=False), "compiled", False)
    weights = tmp_path / "m" / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="Checksum mismatch for 'model.weights.h5'"):
        kiln.models.load_model(tmp_path / "m")


def test_missing_class_revives_an_inference_model(tmp_path):
    class CustomModel(kiln.Model):  # not registered, no get_config: cannot be rebuilt
        def __init__(self, hidden_units):
            super().__init__()
            self.dense_layers = [kiln.layers.Dense(u) for u in hidden_units]

        def call(self, inputs):
            x = inputs
            for layer in self.dense_layers:
                x = layer(x)
            return x

    model = CustomModel([16, 1])
    x, y = _data()
    model(x[:1])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.save(tmp_path / "my_model")
    del CustomModel

    with pytest.warns(UserWarning, match="Revived an inference-only model"):
        loaded = kiln.models.load_model(tmp_path / "my_model")
    assert isinstance(loaded, kiln.Model)
    assert "revived from CustomModel" in repr(loaded)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    with pytest.raises(RevivedModelError, match="cannot be trained with fit"):
        loaded.fit(x, y)
    with pytest.raises(NotImplementedError):  # RevivedModelError is a NotImplementedError
        loaded.train_on_batch(x, y)


def test_guide_003_sequential_summary_and_evaluate(tmp_path, capsys):
    model = kiln.Sequential([kiln.layers.Dense(32, activation="relu", input_shape=(8,)),
                             kiln.layers.Dropout(0.2), kiln.layers.Dense(3)])
    model.compile(optimizer="adam",
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[kiln.metrics.SparseCategoricalAccuracy()])
    x = np.random.rand(40, 8).astype("float32")
    y = np.random.randint(0, 3, 40)
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.evaluate(x, y, verbose=0)
    os.makedirs(tmp_path / "saved_model")
    model.save(str(tmp_path / "saved_model/my_model"))
    new_model = kiln.models.load_model(str(tmp_path / "saved_model/my_model"))
    capsys.readouterr()
    new_model.summary()
    assert "Trainable params: 387" in capsys.readouterr().out
    assert new_model.evaluate(x, y, verbose=0) == pytest.approx(expected)
    assert new_model.predict(x, verbose=0).shape == (40, 3)


def test_unbuilt_models_and_wrong_directories(tmp_path):
    model = kiln.Sequential([kiln.layers.Dense(2)])
    with pytest.warns(UserWarning, match="holds no exported inference program"):
        model.save(tmp_path / "unbuilt")
    assert "exported" not in os.listdir(tmp_path / "unbuilt")
    assert isinstance(kiln.models.load_model(tmp_path / "unbuilt"), kiln.Sequential)
    built = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    built.export(tmp_path / "artifact", verbose=False)
    with pytest.raises(FileFormatError, match=r"kiln.export.load\(path\)"):
        kiln.models.load_model(tmp_path / "artifact")
    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(FileFormatError, match="TensorFlow SavedModel"):
        kiln.models.load_model(tmp_path / "tf")


def test_unexportable_model_is_saved_without_a_program(tmp_path):
    @kiln.saving.register_keras_serializable(package="ModelDirectoryTest")
    class Gate(kiln.layers.Layer):
        def call(self, x):
            return x if kiln.ops.sum(x) > 0 else -x  # data-dependent: cannot be exported

    inputs = kiln.Input((3,))
    model = kiln.Model(inputs, Gate()(kiln.layers.Dense(3)(inputs)))
    x = np.random.rand(2, 3).astype("float32")
    with pytest.warns(UserWarning, match="without an exported inference program.*Gate.call"):
        model.save(tmp_path / "gated")
    assert sorted(os.listdir(tmp_path / "gated")) == ["config.json", "metadata.json",
                                                      "model.weights.h5"]
    meta = json.loads((tmp_path / "gated" / "metadata.json").read_text())
    assert meta["kiln"]["exported"] is None
    restored = kiln.models.load_model(tmp_path / "gated")
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(model(x)), atol=1e-6)
