import os

import numpy as np
import pytest

import kiln
from kiln.callbacks import ModelCheckpoint
from kiln.callbacks._testlib import FakeModel, regression_data, regression_model

# (epoch logs) for three epochs of four batches each.
EPOCH_LOGS = [{"loss": 0.5, "val_loss": 0.4, "val_mae": 0.3},
              {"loss": 0.4, "val_loss": 0.45, "val_mae": 0.2},
              {"loss": 0.3, "val_loss": 0.1, "val_mae": 0.25}]
CASES = [
    dict(filepath="m-{epoch:04d}-{val_loss:.2f}.keras", verbose=1),
    dict(filepath="best.keras", save_best_only=True, verbose=1),
    dict(filepath="best.weights.h5", save_weights_only=True, save_best_only=True,
         monitor="val_mae", mode="max", verbose=1),
    dict(filepath="b-{epoch:02d}-{batch:03d}.keras", save_freq=3, verbose=1),
    dict(filepath="t.h5", save_best_only=True, initial_value_threshold=0.42, verbose=1),
    dict(filepath="missing.keras", save_best_only=True, monitor="val_acc", mode="min"),
]


def _drive(callback, tmp_path):
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(EPOCH_LOGS):
        callback.on_epoch_begin(epoch)
        for batch in range(4):
            callback.on_train_batch_end(batch, {"loss": logs["loss"]})
        callback.on_epoch_end(epoch, dict(logs))
    return [(kind, os.path.relpath(path, tmp_path)) for kind, path in model.saved]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda c: c["filepath"])
def test_same_saves_and_messages_as_keras(kwargs, tmp_path, capsys):
    keras = pytest.importorskip("keras")
    kwargs = dict(kwargs, filepath=str(tmp_path / kwargs["filepath"]))
    with _maybe_warns(kwargs):
        ours = _drive(ModelCheckpoint(**kwargs), tmp_path)
    our_out = capsys.readouterr().out
    with _maybe_warns(kwargs):
        theirs = _drive(keras.callbacks.ModelCheckpoint(**kwargs), tmp_path)
    assert ours == theirs
    assert our_out == capsys.readouterr().out


def _maybe_warns(kwargs):
    if kwargs.get("monitor") == "val_acc":
        return pytest.warns(UserWarning, match="Can save best model only with val_acc")
    import contextlib

    return contextlib.nullcontext()


def test_batch_counting_across_epochs(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "{epoch:02d}-{batch:03d}.keras"), save_freq=3)
    saved = _drive(cb, tmp_path)
    assert [p for _, p in saved] == ["01-003.keras", "02-002.keras", "03-001.keras",
                                     "03-004.keras"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(filepath="w.keras", save_weights_only=True), "must end in `.weights.h5`"),
    (dict(filepath="model.pt"), "must end in `.keras`"),
    (dict(filepath="m.keras", save_freq="batch"), "Unrecognized save_freq: batch"),
])
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelCheckpoint(**kwargs)


def test_checkpoint_prefixes_are_accepted_and_saved_as_weights(tmp_path):
    for path in ("training_1/cp.ckpt", "ckpt/cp-{epoch:04d}", "weights.{epoch:02d}.hdf5"):
        cb = ModelCheckpoint(str(tmp_path / path), save_weights_only=True)
        saved = _drive(cb, tmp_path)
        assert {kind for kind, _ in saved} == {"save_weights"}
    assert [p for _, p in saved] == ["weights.01.hdf5", "weights.02.hdf5", "weights.03.hdf5"]


def test_format_key_error_and_directory_error(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "{nope}.keras"))
    cb.set_model(FakeModel())
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        cb.on_epoch_end(0, {"val_loss": 1.0})

    class DirModel(FakeModel):
        def save(self, filepath, overwrite=True):
            raise IsADirectoryError(filepath)

    os.makedirs(tmp_path / "d.keras")
    cb = ModelCheckpoint(str(tmp_path / "d.keras"))
    cb.set_model(DirModel())
    with pytest.raises(IOError, match="non-directory filepath"):
        cb.on_epoch_end(0, {"val_loss": 1.0})


def test_real_checkpoints_reload(tmp_path):
    model = regression_model(optimizer="adam", metrics=["mae"])
    x, y = regression_data(16)
    best = ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_mae",
                           save_best_only=True)
    every = ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True)
    model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0, callbacks=[best, every])
    assert sorted(os.listdir(tmp_path)) == ["best.keras", "w-1.weights.h5", "w-2.weights.h5"]
    restored = kiln.models.load_model(str(tmp_path / "best.keras"))
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    fresh = regression_model(optimizer="adam")
    fresh.load_weights(str(tmp_path / "w-2.weights.h5"))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_most_recent_file_helper(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m-{epoch}.keras"))
    for i, name in enumerate(["m-1.keras", "m-2.keras", "other.txt"]):
        path = tmp_path / name
        path.write_text("x")
        os.utime(path, (1000 + i, 1000 + i))
    assert cb._get_most_recently_modified_file_matching_pattern(
        str(tmp_path / "m-{epoch}.keras")) == str(tmp_path / "m-2.keras")
