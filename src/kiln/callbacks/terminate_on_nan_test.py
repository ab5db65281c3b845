import numpy as np
import pytest

from kiln.callbacks import TerminateOnNaN
from kiln.callbacks._testlib import regression_data, regression_model


def test_stops_at_first_nan_batch(capsys):
    model = regression_model()
    x, y = regression_data(16)
    y[5] = np.nan
    history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                        callbacks=[TerminateOnNaN()])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1
    assert int(model.optimizer.iterations.numpy()) == 2


def test_raise_error():
    model = regression_model()
    x, y = regression_data(8)
    y[0] = np.inf
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        model.fit(x, y, batch_size=4, shuffle=False, verbose=0,
                  callbacks=[TerminateOnNaN(raise_error=True)])
