import os

import numpy as np
import pytest

import kiln
from kiln.callbacks import BackupAndRestore


class Interrupt(kiln.callbacks.Callback):
    """Stops the process-like run after `at` training batches (like a crash)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise KeyboardInterrupt


def _run(backup_dir, save_freq, interrupt_at=None, epochs=4, extra=()):
    kiln.utils.set_random_seed(11)
    rng = np.random.default_rng(0)
    x = rng.random((60, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 1).astype("int64")
    model = kiln.Sequential([kiln.Input((5,)), kiln.layers.Dense(8, activation="relu"),
                             kiln.layers.Dropout(0.3), kiln.layers.Dense(2)])
    schedule = kiln.optimizers.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.8)
    model.compile(optimizer=kiln.optimizers.Adam(schedule),
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    stopper = kiln.callbacks.EarlyStopping(monitor="loss", patience=100)
    callbacks = [stopper, *extra, BackupAndRestore(backup_dir, save_freq=save_freq)]
    if interrupt_at is not None:
        callbacks.append(Interrupt(interrupt_at))
    history = model.fit(x, y, epochs=epochs, batch_size=8, validation_data=(x[:16], y[:16]),
                        callbacks=callbacks, verbose=0)
    return history.history, model, stopper


# 8 batches per epoch: backups inside an epoch, after its last batch (4, 26), between epochs.
@pytest.mark.parametrize("save_freq, interrupt_at", [(3, 13), (4, 26), ("epoch", 20)])
def test_interrupted_run_resumes_exactly(tmp_path, save_freq, interrupt_at):
    reference, ref_model, ref_stopper = _run(str(tmp_path / "ref"), save_freq)
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _run(backup, save_freq, interrupt_at=interrupt_at)
    assert "checkpoint" in os.listdir(backup)
    resumed, model, stopper = _run(backup, save_freq)
    assert resumed == reference  # every epoch's loss, accuracy and validation metrics
    for a, b in zip(ref_model.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert (stopper.wait, stopper.best, stopper.best_epoch) == (
        ref_stopper.wait, ref_stopper.best, ref_stopper.best_epoch)
    assert not os.path.exists(backup)  # delete_checkpoint=True after a finished run


def test_model_checkpoint_best_value_is_restored(tmp_path):
    def checkpoint():
        return kiln.callbacks.ModelCheckpoint(str(tmp_path / "best.weights.h5"), monitor="loss",
                                              save_best_only=True, save_weights_only=True)

    first = checkpoint()
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "b"), 4, interrupt_at=26, extra=[first])
    second = checkpoint()
    _run(str(tmp_path / "b"), 4, extra=[second])
    reference = checkpoint()
    _run(str(tmp_path / "ref"), 4, extra=[reference])
    assert second.best == reference.best and second.best is not None


def test_keeps_backups_when_asked_and_falls_back_to_the_previous(tmp_path):
    backup = str(tmp_path / "b")
    kiln.utils.set_random_seed(1)
    model = kiln.Sequential([kiln.Input((2,)), kiln.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    cb = BackupAndRestore(backup, delete_checkpoint=False, double_checkpoint=True)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    names = sorted(os.listdir(backup))
    assert names == ["backup-2.data-00000-of-00001", "backup-2.index",
                     "backup-3.data-00000-of-00001", "backup-3.index", "checkpoint"]
    os.remove(os.path.join(backup, "backup-3.data-00000-of-00001"))  # damage the latest
    resumed = BackupAndRestore(backup, delete_checkpoint=False, double_checkpoint=True)
    epochs_run = []
    counter = kiln.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    with pytest.warns(UserWarning, match="using the previous backup"):
        history = model.fit(x, y, epochs=3, verbose=0, callbacks=[counter, resumed])
    assert epochs_run == [2]  # resumed after epoch 2, from backup-2
    assert history.epoch == [0, 1, 2]  # History's state came back with the backup


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="Expected either 'epoch' or a positive integer"):
        BackupAndRestore("x", save_freq=0)
