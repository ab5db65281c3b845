import os

import numpy as np
import pytest

import kiln


def _model():
    inputs = kiln.Input((3,))
    model = kiln.Model(inputs, kiln.layers.Dense(2, name="out")(inputs))
    model.compile(optimizer="adam", loss="mse")
    return model


def test_bare_name_with_save_format_h5_loads_back(tmp_path):
    model = _model()
    x = np.random.rand(4, 3).astype("float32")
    path = str(tmp_path / "legacy_model")
    model.save(path, save_format="h5")
    assert os.path.isfile(path)  # a file, not a model directory
    loaded = kiln.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bare_weights_names_are_read_by_their_content(tmp_path):
    model = _model()
    x = np.random.rand(4, 3).astype("float32")
    legacy = str(tmp_path / "legacy_weights")
    model.save_weights(legacy, save_format="h5")
    keras3 = tmp_path / "k3_weights"
    model.save_weights(str(tmp_path / "k3.weights.h5"))
    os.rename(tmp_path / "k3.weights.h5", keras3)
    for path in (legacy, str(keras3)):
        other = _model()
        other.load_weights(path)
        np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    target = tmp_path / "missing" / "m.keras"
    with pytest.raises(FileNotFoundError, match="the folder .*missing.* does not exist"):
        _model().save(str(target))
    assert not (tmp_path / "missing").exists()
