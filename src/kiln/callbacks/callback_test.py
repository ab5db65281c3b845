import numpy as np
import pytest

import kiln
from kiln.callbacks import Callback, CallbackList, LambdaCallback
from kiln.callbacks._testlib import regression_data, regression_model


def _recording_hook(name):
    def hook(self, *args, **kwargs):
        self.calls.append(name)

    return hook


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


for _hook in kiln.callbacks.callback._HOOKS:
    setattr(Recorder, _hook, _recording_hook(_hook))


class BatchLogs(Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(logs)


def test_hook_order_in_fit_with_validation():
    model = regression_model()
    x, y = regression_data(8)
    recorder = Recorder()
    model.fit(x, y, batch_size=4, epochs=1, validation_data=(x, y), callbacks=[recorder],
              verbose=0)
    assert recorder.calls == [
        "on_train_begin", "on_epoch_begin",
        "on_train_batch_begin", "on_train_batch_end",
        "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
        "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_epoch_end", "on_train_end",
    ]
    assert recorder.params == {"verbose": 0, "epochs": 1, "steps": 2}
    assert recorder.model is model


def test_user_batch_callbacks_get_plain_float_logs():
    model = regression_model(metrics=["mae"])
    x, y = regression_data(8)
    cb = BatchLogs()
    model.fit(x, y, batch_size=4, epochs=1, callbacks=[cb], verbose=0)
    assert len(cb.logs) == 2
    assert all(type(logs) is dict for logs in cb.logs)
    assert list(cb.logs[0]) == ["loss", "mae"]
    assert all(isinstance(v, float) for v in cb.logs[1].values())
    assert cb.logs[0]["loss"] != cb.logs[1]["loss"]


def test_on_batch_end_receives_training_batches():
    seen = []

    class Old(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((batch, sorted(logs)))

    model = regression_model()
    x, y = regression_data(8)
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[Old()])
    assert seen == [(0, ["loss"]), (1, ["loss"])]


def test_lambda_callback():
    epochs, ends = [], []
    cb = LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append((epoch, logs["loss"])),
                        on_train_end=lambda logs: ends.append(True))
    model = regression_model()
    x, y = regression_data(8)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert [e for e, _ in epochs] == [0, 1]
    assert [l for _, l in epochs] == history.history["loss"]
    assert ends == [True]


def test_callback_list_adds_defaults_and_skips_unused_batch_hooks():
    cbs = CallbackList([Callback()], add_history=True, add_progbar=True, verbose=0, epochs=1,
                       steps=1)
    types = [type(c).__name__ for c in cbs.callbacks]
    assert types == ["Callback", "History", "ProgbarLogger"]
    assert not cbs.wants("on_train_batch_begin")
    assert cbs.wants("on_train_batch_end")  # the progress bar
    with pytest.raises(TypeError, match="kiln.callbacks.Callback"):
        CallbackList([object()])


def test_stop_training_from_a_callback():
    class Stop(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = regression_model()
    x, y = regression_data(16)
    history = model.fit(x, y, batch_size=4, epochs=5, callbacks=[Stop()], verbose=0)
    assert len(history.history["loss"]) == 1
    assert int(model.optimizer.iterations.numpy()) == 2


def test_history_params_and_model_attribute():
    model = regression_model()
    x, y = regression_data(10)
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert isinstance(history, kiln.callbacks.History)
    assert model.history is history
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}
    assert history.epoch == [0, 1, 2]
    assert np.all(np.diff(history.history["loss"]) < 0)
