import numpy as np
import pytest

from kiln.callbacks import LearningRateScheduler
from kiln.callbacks._testlib import regression_data, regression_model


def test_schedule_sets_rate_each_epoch_and_logs_it(capsys):
    model = regression_model(optimizer="sgd")
    x, y = regression_data(8)
    cb = LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1), verbose=1)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3],
                               rtol=1e-6)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.05." in \
        capsys.readouterr().out


def test_one_argument_schedule_and_type_check():
    model = regression_model(optimizer="sgd")
    x, y = regression_data(8)
    model.fit(x, y, epochs=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch: 0.25)])
    assert float(model.optimizer.learning_rate.numpy()) == 0.25
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch: "fast")])
