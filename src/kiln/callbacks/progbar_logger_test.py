import re

import numpy as np
import pytest

from kiln.callbacks._testlib import regression_data, regression_model

_NUMBERS = re.compile(r"\d+(\.\d+)?(e[-+]\d+)?(s|ms|us)?")


def _mask(text):
    return _NUMBERS.sub("N", text)


def test_fit_verbose_1_without_tty_prints_one_line_per_epoch(capsys):
    model = regression_model(metrics=["mae"])
    x, y = regression_data(10)
    model.fit(x, y, batch_size=4, epochs=2, validation_data=(x, y))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"3/3 \u2501{20} 0s \d+[mu]?s/step - loss: \d\.\d{4} - mae: \d\.\d{4} - "
                        r"val_loss: \d\.\d{4} - val_mae: \d\.\d{4}", lines[1])


def test_single_epoch_has_no_epoch_line(capsys):
    model = regression_model()
    x, y = regression_data(8)
    model.fit(x, y, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"1/1 - 0s - \d+[mu]?s/step - loss: \d\.\d{4}", lines[0])


def test_evaluate_and_predict_bars(capsys):
    model = regression_model(metrics=["mae"])
    x, y = regression_data(40)
    model.evaluate(x, y, verbose=2)
    model.predict(x)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"2/2 - 0s - \d+[mu]?s/step - loss: \d\.\d{4} - mae: \d\.\d{4}", lines[0])
    assert re.fullmatch(r"2/2 \u2501{20} 0s \d+[mu]?s/step", lines[1])


def test_unknown_length_is_learned_after_one_epoch(capsys):
    import torch

    model = regression_model()
    x, y = regression_data(12)

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in range(0, 12, 4):
                yield torch.from_numpy(x[i:i + 4]), torch.from_numpy(y[i:i + 4])

    loader = torch.utils.data.DataLoader(Stream(), batch_size=None)
    model.fit(loader, epochs=2, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("3/3 ") and lines[3].startswith("3/3 ")


def test_verbose_2_lines_match_keras(capsys):
    keras = pytest.importorskip("keras")
    x, y = regression_data(10)
    model = regression_model(metrics=["mae"])
    model.fit(x, y, batch_size=4, epochs=2, verbose=2, validation_data=(x, y))
    model.evaluate(x, y, verbose=2)
    ours = capsys.readouterr().out
    k = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    k.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    k.fit(x, y, batch_size=4, epochs=2, verbose=2, validation_data=(x, y))
    k.evaluate(x, y, verbose=2)
    theirs = capsys.readouterr().out
    assert _mask(ours) == _mask(theirs)
    assert np.isfinite(model.evaluate(x, y, verbose=0)[0])
