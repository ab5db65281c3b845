import os
import warnings

import numpy as np
import pytest

import kiln
from kiln.checkpoint import CheckpointLoadStatus, latest_checkpoint, state_file
from kiln.errors import WeightsMismatchError


def _mlp(head=2, name=None):
    inputs = kiln.Input((6,))
    x = kiln.layers.Dense(5, activation="relu")(inputs)
    x = kiln.layers.Dense(4)(x)
    return kiln.Model(inputs, kiln.layers.Dense(head)(x), name=name)


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.standard_normal(v.shape).astype("float32"))


@pytest.mark.parametrize("name", ["ckpt", "cp.ckpt", os.path.join("sub", "my_checkpoint")])
def test_save_and_load_weights_round_trip(tmp_path, name):
    model = _mlp()
    _randomize(model, 0)
    prefix = str(tmp_path / name)
    model.save_weights(prefix)
    folder = os.path.dirname(prefix)
    base = os.path.basename(prefix)
    assert sorted(os.listdir(folder)) == sorted(
        ["checkpoint", f"{base}.index", f"{base}.data-00000-of-00001"])
    assert latest_checkpoint(folder) == prefix
    other = _mlp()
    status = other.load_weights(prefix)
    assert isinstance(status, CheckpointLoadStatus)
    status.assert_consumed()
    for a, b in zip(model.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_file_lists_only_the_last_save_weights(tmp_path):
    model = _mlp()
    model.save_weights(str(tmp_path / "cp-0000.ckpt"))
    model.save_weights(str(tmp_path / "cp-0005.ckpt"))
    state = state_file.read(tmp_path)
    assert state.latest == "cp-0005.ckpt" and state.all == ["cp-0005.ckpt"]


def test_transfer_into_a_model_with_another_head(tmp_path):
    pretrained = _mlp()
    _randomize(pretrained, 1)
    pretrained.save_weights(str(tmp_path / "pre"))
    model = _mlp(head=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WeightsMismatchError, match="expected \\(4, 7\\) float32, found "
                                                       "\\(4, 2\\) float32"):
            model.load_weights(str(tmp_path / "pre"))
    with pytest.warns(UserWarning, match="Skipped 2 values"):
        status = model.load_weights(str(tmp_path / "pre"), skip_mismatch=True)
    for a, b in zip(pretrained.weights[:4], model.weights[:4]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(AssertionError, match="expected \\(4, 7\\)"):
        status.assert_existing_objects_matched()


def test_submodel_loads_into_the_same_structure(tmp_path):
    full = _mlp()
    _randomize(full, 2)
    backbone = kiln.Model(full.inputs, full.layers[-1].input)
    backbone.save_weights(str(tmp_path / "backbone"))
    inputs = kiln.Input((6,))
    x = kiln.layers.Dense(5, activation="relu")(inputs)
    fresh = kiln.Model(inputs, kiln.layers.Dense(4)(x))
    fresh.load_weights(str(tmp_path / "backbone")).assert_consumed()
    for a, b in zip(backbone.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_optimizer_state_is_saved_and_restored_when_slots_exist(tmp_path):
    x = np.random.default_rng(0).random((32, 6)).astype("float32")
    y = np.random.default_rng(1).random((32, 2)).astype("float32")
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save_weights(str(tmp_path / "trained"))
    fresh = _mlp()
    fresh.compile(optimizer="adam", loss="mse")
    status = fresh.load_weights(str(tmp_path / "trained"))
    assert int(fresh.optimizer.iterations.numpy()) == 8
    with pytest.raises(AssertionError, match="OPTIMIZER_SLOT"):
        status.assert_consumed()  # the slots wait for the optimizer to be built
    fresh.optimizer.build(fresh.trainable_variables)
    status.assert_consumed()
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Training continues identically from the restored state.
    model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    fresh.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_unbuilt_sequential_receives_values_when_built(tmp_path):
    source = kiln.Sequential([kiln.layers.Dense(3), kiln.layers.Dropout(0.5),
                              kiln.layers.Dense(2)])
    source.build((None, 4))
    source.save_weights(str(tmp_path / "w"))
    target = kiln.Sequential([kiln.layers.Dense(3), kiln.layers.Dropout(0.5),
                              kiln.layers.Dense(2)])
    status = target.load_weights(str(tmp_path / "w"))
    target.build((None, 4))
    status.assert_consumed()
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_missing_checkpoint_names_the_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint found at .*nothing.*nothing.index"):
        _mlp().load_weights(str(tmp_path / "nothing"))
