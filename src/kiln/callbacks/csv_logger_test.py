import pytest

from kiln.callbacks import CSVLogger
from kiln.callbacks._testlib import FakeModel, regression_data, regression_model

EPOCHS = [{"loss": 0.5, "mae": 0.25}, {"loss": 0.25, "mae": 0.125}]


def _write(callback):
    callback.set_model(FakeModel())
    callback.on_train_begin()
    for epoch, logs in enumerate(EPOCHS):
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


@pytest.mark.parametrize("separator", [",", ";"])
def test_same_file_as_keras(tmp_path, separator):
    keras = pytest.importorskip("keras")
    _write(CSVLogger(tmp_path / "ours.csv", separator=separator))
    _write(keras.callbacks.CSVLogger(str(tmp_path / "theirs.csv"), separator=separator))
    ours = (tmp_path / "ours.csv").read_text()
    assert ours == (tmp_path / "theirs.csv").read_text()
    assert ours.splitlines()[0] == separator.join(
        ["epoch", "loss", "mae", "val_loss", "val_mae"])


def test_append_keeps_one_header(tmp_path):
    path = tmp_path / "log.csv"
    model = regression_model()
    x, y = regression_data(8)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "0"]
    assert lines[1].endswith(",NA")
