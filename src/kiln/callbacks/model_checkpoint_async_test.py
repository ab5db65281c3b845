"""ModelCheckpoint with the checkpoint format, `.safetensors` and `async_save=True`."""

import os

import numpy as np
import pytest

import kiln
from kiln.callbacks import ModelCheckpoint
from kiln.callbacks._testlib import regression_data, regression_model
from kiln.checkpoint import format as fmt


def _fit(model, callbacks, epochs=3, **kwargs):
    x, y = regression_data()
    return model.fit(x, y, epochs=epochs, batch_size=4, verbose=0, callbacks=callbacks, **kwargs)


@pytest.mark.parametrize("async_save", [False, True])
def test_checkpoint_format_files_and_messages(tmp_path, monkeypatch, capsys, async_save):
    monkeypatch.chdir(tmp_path)
    model = regression_model()
    callback = ModelCheckpoint("training_1/cp.ckpt", save_weights_only=True, verbose=1,
                               async_save=async_save)
    _fit(model, [callback])
    out = capsys.readouterr().out
    assert all(f"Epoch {e}: saving model to training_1/cp.ckpt" in out for e in (1, 2, 3))
    assert sorted(os.listdir("training_1")) == ["checkpoint", "cp.ckpt.data-00000-of-00001",
                                                "cp.ckpt.index"]
    restored = regression_model()
    restored.load_weights("training_1/cp.ckpt").assert_existing_objects_matched()
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_async_fit_waits_for_the_last_write(tmp_path):
    model = regression_model()
    callback = ModelCheckpoint(str(tmp_path / "cp-{epoch:02d}.ckpt"), save_weights_only=True,
                               async_save=True, save_freq=2)
    _fit(model, [callback], epochs=2)  # 4 batches per epoch: saves after batches 2, 4, 6, 8
    assert kiln.checkpoint.latest_checkpoint(str(tmp_path)) == str(tmp_path / "cp-02.ckpt")
    assert not callback._writer.busy
    restored = regression_model()
    restored.load_weights(str(tmp_path / "cp-02.ckpt"))
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _named_model():
    # safetensors keys are state_dict names, which contain the layer names.
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_async_safetensors(tmp_path):
    model = _named_model()
    path = str(tmp_path / "w-{epoch}.safetensors")
    _fit(model, [ModelCheckpoint(path, save_weights_only=True, async_save=True)], epochs=2)
    restored = _named_model()
    restored.load_weights(str(tmp_path / "w-2.safetensors"))
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_async_keras_format_falls_back_to_a_synchronous_save(tmp_path):
    model = regression_model()
    with pytest.warns(UserWarning, match="saved synchronously"):
        _fit(model, [ModelCheckpoint(str(tmp_path / "m.keras"), async_save=True)], epochs=1)
    assert os.path.isfile(tmp_path / "m.keras")


def test_background_errors_surface_at_the_end_of_fit(tmp_path, monkeypatch):
    def broken(prefix, tensors):
        raise OSError("No space left on device")

    monkeypatch.setattr(fmt, "write", broken)
    model = regression_model()
    callback = ModelCheckpoint(str(tmp_path / "cp.ckpt"), save_weights_only=True,
                               async_save=True)
    with pytest.raises(OSError, match="No space left on device"):
        _fit(model, [callback], epochs=1)


def test_best_only_with_checkpoint_format(tmp_path, capsys):
    model = regression_model()
    callback = ModelCheckpoint(str(tmp_path / "best.ckpt"), monitor="loss", save_best_only=True,
                               save_weights_only=True, verbose=1)
    _fit(model, [callback], epochs=2)
    out = capsys.readouterr().out
    assert "Epoch 1: loss improved from None to" in out
    assert os.path.isfile(fmt.index_path(str(tmp_path / "best.ckpt")))


def test_async_buffers_are_prepared_before_the_first_save(tmp_path):
    from kiln.checkpoint import checkpoint, object_graph

    model = regression_model(optimizer="adam")
    callback = ModelCheckpoint(str(tmp_path / "cp.ckpt"), save_weights_only=True,
                               async_save=True, save_freq=2)
    before_first_batch = {}

    class Probe(kiln.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0 and not before_first_batch:
                callback._writer.wait()
                before_first_batch.update(callback._writer._buffers)

    _fit(model, [callback, Probe()], epochs=1)
    # At the start of fit(): buffers for the model's variables (no optimizer slots yet).
    for v in model.weights:
        assert any(b.shape == v.shape for b in before_first_batch.values())
    # After the first batch the slots got theirs too, and the saves reused the variables'.
    keys = set(checkpoint.graph_tensors(object_graph.Graph(model)))
    buffers = callback._writer._buffers
    assert set(buffers) == keys and len(keys) > len(before_first_batch)
    for key, buffer in before_first_batch.items():
        if key != fmt.GRAPH_KEY:  # the object graph's JSON grows once slots exist
            assert buffers[key].data_ptr() == buffer.data_ptr()


def test_background_copy_in_fit_saves_the_weights_of_the_save_moment(tmp_path, monkeypatch):
    import threading
    import time

    from kiln.checkpoint import async_writer

    real = async_writer._memcpy

    def late(pairs):  # the copy starts late, so the next epoch's updates would win a race
        if threading.current_thread().name == "kiln-snapshot-copy":
            time.sleep(0.3)
        real(pairs)

    monkeypatch.setattr(async_writer, "_memcpy", late)
    kiln.utils.set_random_seed(0)
    model = kiln.Sequential([kiln.Input((512,)), kiln.layers.Dense(512, name="big")])
    model.compile(optimizer="adam", loss="mse")  # 1 MiB kernel and slots: copied in the background
    at_epoch_end = []

    class Record(kiln.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            at_epoch_end.append([w.numpy().copy() for w in self.model.weights])

    x = np.random.RandomState(0).rand(16, 512).astype("float32")
    callback = ModelCheckpoint(str(tmp_path / "cp-{epoch}.ckpt"), save_weights_only=True,
                               async_save=True)
    model.fit(x, x, epochs=2, batch_size=4, verbose=0, callbacks=[Record(), callback])
    restored = kiln.Sequential([kiln.Input((512,)), kiln.layers.Dense(512, name="big")])
    restored.compile(optimizer="adam", loss="mse")
    restored.load_weights(str(tmp_path / "cp-1.ckpt")).expect_partial()
    for saved, expected in zip(restored.weights, at_epoch_end[0]):
        np.testing.assert_array_equal(saved.numpy(), expected)
    assert not np.array_equal(at_epoch_end[0][0], at_epoch_end[1][0])  # epoch 2 trained on
