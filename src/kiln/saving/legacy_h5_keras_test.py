"""Legacy `.h5` interop with real Keras 3.15.1 (the oracle, KERAS_BACKEND=torch)."""

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import kiln  # noqa: E402


def _np(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _kiln_predict(model, x):
    with torch.no_grad():
        return _np(model(x))


def _keras_predict(model, x):
    return _np(model(x, training=False))


def _kiln_models():
    inp = kiln.Input((4,), name="inp")
    shared = kiln.layers.Dense(4, activation="tanh", name="shared")
    x = kiln.layers.BatchNormalization(name="bn")(shared(shared(inp)))
    functional = kiln.Model(inp, kiln.layers.Dense(2, name="out")(x), name="fm")
    inner = kiln.Sequential([kiln.layers.Dense(3, name="b"),
                             kiln.layers.BatchNormalization(name="ibn")], name="inner")
    sequential = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(4, name="a"), inner],
                                 name="seq")
    rng = np.random.default_rng(0)
    for model in (functional, sequential):
        for v in model.weights:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype(np.float32))
    return functional, sequential


def test_keras_loads_kiln_h5_and_predicts_the_same(tmp_path):
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    for i, model in enumerate(_kiln_models()):
        path = str(tmp_path / f"m{i}.h5")
        model.save(path)
        oracle = keras.saving.load_model(path, compile=False)
        assert [l.name for l in oracle.layers] == [l.name for l in model.layers]
        np.testing.assert_allclose(_keras_predict(oracle, x), _kiln_predict(model, x),
                                   rtol=1e-6, atol=1e-6)
        model.save_weights(str(tmp_path / f"w{i}.h5"))
        oracle = keras.saving.load_model(path, compile=False)
        for v in oracle.weights:
            v.assign(np.zeros(v.shape, np.float32))
        oracle.load_weights(str(tmp_path / f"w{i}.h5"))
        np.testing.assert_allclose(_keras_predict(oracle, x), _kiln_predict(model, x),
                                   rtol=1e-6, atol=1e-6)


def _keras_models():
    inp = keras.Input((4,), name="inp")
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    pre = keras.layers.Dense(4, name="pre")(inp)
    x = keras.layers.Concatenate(name="cat")([shared(inp), shared(pre)])
    x = keras.layers.BatchNormalization(name="bn")(x)
    functional = keras.Model(inp, keras.layers.Dense(2, name="out")(x), name="kfm")
    sequential = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(3, name="a"),
        keras.Sequential([keras.layers.Dense(2, name="b")], name="inner")], name="kseq")
    rng = np.random.default_rng(2)
    for model in (functional, sequential):
        for v in model.weights:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype(np.float32))
    return functional, sequential


def test_kiln_loads_keras_h5_and_predicts_the_same(tmp_path):
    x = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    for i, model in enumerate(_keras_models()):
        path = str(tmp_path / f"k{i}.h5")
        model.save(path)
        restored = kiln.saving.load_model(path, compile=False)
        np.testing.assert_allclose(_kiln_predict(restored, x), _keras_predict(model, x),
                                   rtol=1e-6, atol=1e-6)


def test_kiln_resumes_training_from_a_keras_h5_like_keras_would(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,), name="inp")
    out = keras.layers.Dense(2, name="d2")(keras.layers.Dense(3, activation="relu",
                                                              name="d1")(inp))
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    for _ in range(3):
        model.train_on_batch(x, y)
    path = str(tmp_path / "k.h5")
    model.save(path)
    restored = kiln.saving.load_model(path)
    assert len(restored.optimizer.variables) == len(model.optimizer.variables) == 10
    for ours, theirs in zip(restored.optimizer.variables, model.optimizer.variables):
        np.testing.assert_allclose(ours.numpy(), _np(theirs.value), rtol=1e-6)
    for _ in range(2):
        expected = float(model.train_on_batch(x, y))
        assert float(restored.train_on_batch(x, y)) == pytest.approx(expected, rel=1e-5)


def test_keras_compiles_a_kiln_h5_and_reads_its_optimizer_config(tmp_path):
    inp = kiln.Input((4,), name="inp")
    model = kiln.Model(inp, kiln.layers.Dense(2, name="d")(inp))
    # "mse" is written as "mean_squared_error": Keras 3 cannot recompile the short alias.
    model.compile(optimizer=kiln.optimizers.SGD(0.05, momentum=0.5), loss="mse",
                  metrics=["mae"])
    model.train_on_batch(np.ones((4, 4), np.float32), np.zeros((4, 2), np.float32))
    path = str(tmp_path / "m.h5")
    model.save(path)
    oracle = keras.saving.load_model(path)
    assert type(oracle.optimizer).__name__ == "SGD"
    assert float(_np(oracle.optimizer.momentum)) == pytest.approx(0.5)
    assert float(_np(oracle.optimizer.learning_rate)) == pytest.approx(0.05)
    # Keras 3 itself restores only the first variables (it builds its optimizer empty).
    assert int(_np(oracle.optimizer.iterations.value)) == 1


def test_keras_reads_the_kiln_golden_file():
    folder = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test_data", "legacy_h5")
    expected = np.load(os.path.join(folder, "expected.npz"))
    oracle = keras.saving.load_model(os.path.join(folder, "kiln_functional.h5"))
    assert type(oracle.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(_keras_predict(oracle, expected["kiln_functional_x"]),
                               expected["kiln_functional_y"], rtol=1e-5, atol=1e-6)
