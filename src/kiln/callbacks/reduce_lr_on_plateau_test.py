import numpy as np
import pytest

import kiln
from kiln.callbacks import ReduceLROnPlateau
from kiln.callbacks._testlib import FakeModel

LOSSES = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.85, 0.99, 0.99, 0.99, 0.99, 0.99]
CASES = [
    dict(patience=1),
    dict(patience=2, factor=0.5, cooldown=1),
    dict(patience=1, factor=0.1, min_lr=0.0005),
    dict(patience=2, min_delta=0.2),
]


def _drive(callback, optimizer):
    model = FakeModel(optimizer)
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, loss in enumerate(LOSSES):
        logs = {"val_loss": loss}
        callback.on_epoch_end(epoch, logs)
        rates.append(float(np.asarray(optimizer.learning_rate)))
    return rates, logs


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_same_learning_rates_as_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours, logs = _drive(ReduceLROnPlateau(**kwargs), kiln.optimizers.SGD(learning_rate=0.01))
    theirs, _ = _drive(keras.callbacks.ReduceLROnPlateau(**kwargs),
                       keras.optimizers.SGD(learning_rate=0.01))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert "learning_rate" in logs


def test_verbose_message_and_factor_check(capsys):
    optimizer = kiln.optimizers.SGD(learning_rate=0.1)
    cb = ReduceLROnPlateau(monitor="loss", patience=0, verbose=1, factor=0.5)
    cb.set_model(FakeModel(optimizer))
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_epoch_end(1, {"loss": 1.0})
    out = capsys.readouterr().out
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05" in out
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.5)
