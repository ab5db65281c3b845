import numpy as np
import pytest

from kiln.callbacks import EarlyStopping
from kiln.callbacks._testlib import FakeModel, regression_data, regression_model

SEQUENCES = {
    "val_loss": [1.0, 0.8, 0.81, 0.79, 0.9, 0.95, 0.96, 0.97, 0.5],
    "val_accuracy": [0.1, 0.5, 0.4, 0.6, 0.6, 0.55, 0.5, 0.7, 0.7],
}
CASES = [
    dict(monitor="val_loss"),
    dict(monitor="val_loss", patience=2),
    dict(monitor="val_loss", patience=2, min_delta=0.05),
    dict(monitor="val_loss", patience=3, baseline=0.7),
    dict(monitor="val_loss", patience=1, start_from_epoch=3),
    dict(monitor="val_loss", patience=2, restore_best_weights=True),
    dict(monitor="val_accuracy", patience=2, mode="max"),
    dict(monitor="val_accuracy", patience=1, mode="min"),
]


def _drive(callback, monitor):
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(SEQUENCES[monitor]):
        model._weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {monitor: value, "loss": 1.0})
        if model.stop_training:
            break
    callback.on_train_end()
    return (callback.stopped_epoch, callback.best, callback.best_epoch, callback.wait,
            model.get_weights()[0].tolist())


@pytest.mark.parametrize("kwargs", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_same_decisions_as_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours = _drive(EarlyStopping(**kwargs), kwargs["monitor"])
    theirs = _drive(keras.callbacks.EarlyStopping(**kwargs), kwargs["monitor"])
    assert ours == theirs


def test_stops_real_training_and_restores_best_weights(capsys):
    model = regression_model(optimizer="sgd")
    x, y = regression_data(8)
    stop = EarlyStopping(monitor="loss", patience=0, min_delta=10.0, verbose=1,
                         restore_best_weights=True)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 1." in out


def test_auto_mode_needs_a_known_direction():
    model = FakeModel()
    stop = EarlyStopping(monitor="val_custom")
    stop.set_model(model)
    with pytest.raises(ValueError, match="mode='max'"):
        stop.on_epoch_end(0, {"val_custom": 1.0})


def test_auto_mode_maximizes_compiled_accuracy():
    model = regression_model(metrics=["accuracy"])
    x, y = regression_data(8)
    model.fit(x, (y > 0).astype("float32"), verbose=0)
    stop = EarlyStopping(monitor="val_accuracy")
    stop.set_model(model)
    stop._set_monitor_op()
    assert stop._is_improvement(0.9, 0.5)


def test_missing_monitor_warns():
    stop = EarlyStopping(monitor="val_loss")
    stop.set_model(FakeModel())
    with pytest.warns(UserWarning, match="Available metrics are: loss"):
        stop.on_epoch_end(0, {"loss": 1.0})
