"""Whole-model `.keras` round trips: complete models, exact resume, clear load errors."""

import io

import numpy as np
import pytest

import kiln
from kiln.errors import WeightsMismatchError


def _data():
    rng = np.random.default_rng(0)
    return rng.random((32, 6), dtype="float32"), rng.integers(0, 3, 32)


def _model(units=8):
    inp = kiln.Input((6,), name="features")
    x = kiln.layers.Dense(units, activation="relu", name="hidden")(inp)
    x = kiln.layers.BatchNormalization(name="bn")(x)
    out = kiln.layers.Dense(3, name="logits")(x)
    model = kiln.Model(inp, out, name="clf")
    model.compile(optimizer=kiln.optimizers.Adam(0.01),
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_loaded_model_is_complete_and_training_resumes_exactly(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = kiln.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0),
                               atol=1e-6)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    assert loaded.get_compile_config() == model.get_compile_config()
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The next training step gives the same loss on both.
    before = model.train_on_batch(x[:8], y[:8])
    after = loaded.train_on_batch(x[:8], y[:8])
    assert np.allclose(before, after, atol=1e-6)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_compile_false_and_unbuilt_models(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")
    assert kiln.models.load_model(tmp_path / "m.keras", compile=False).optimizer is None
    unbuilt = kiln.Sequential([kiln.layers.Dense(2)])
    unbuilt.save(tmp_path / "u.keras")
    revived = kiln.models.load_model(tmp_path / "u.keras")
    assert not revived.built
    assert revived(np.ones((1, 3))).shape == (1, 2)


def test_file_objects(tmp_path):
    model = _model()
    buffer = io.BytesIO()
    kiln.saving.save_model(model, buffer)
    buffer.seek(0)
    loaded = kiln.models.load_model(buffer)
    x, _ = _data()
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_weights_mismatch_lists_every_problem_and_loads_nothing(tmp_path):
    source = _model(units=8)
    source.save_weights(tmp_path / "w.weights.h5")
    target = _model(units=5)
    before = target.get_weights()
    with pytest.raises(WeightsMismatchError) as info:
        target.load_weights(tmp_path / "w.weights.h5")
    problems = info.value.problems
    text = str(info.value)
    assert len(problems) >= 3 and "layers/dense/vars/0" in text and "(6, 5)" in text
    for a, b in zip(before, target.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="skip_mismatch"):
        target.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(target.get_layer("logits").get_weights()[1],
                                  source.get_layer("logits").get_weights()[1])


def test_extra_and_missing_objects_are_reported(tmp_path):
    small = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    big = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2), kiln.layers.Dense(2)])
    big.save_weights(tmp_path / "big.weights.h5")
    with pytest.raises(WeightsMismatchError, match="not used by the model"):
        small.load_weights(tmp_path / "big.weights.h5")
    small.save_weights(tmp_path / "small.weights.h5")
    with pytest.raises(WeightsMismatchError, match="missing from the file"):
        big.load_weights(tmp_path / "small.weights.h5")


def test_safetensors_weights_use_state_dict_names(tmp_path):
    model = _model()
    model.save_weights(tmp_path / "w.safetensors")
    from safetensors.numpy import load_file

    assert sorted(load_file(tmp_path / "w.safetensors")) == sorted(model.state_dict())
    other = _model()
    other.load_weights(tmp_path / "w.safetensors")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_suffix_names_supported_ones(tmp_path):
    with pytest.raises(ValueError, match=r"\.keras"):
        _model().save(tmp_path / "m.txt")
