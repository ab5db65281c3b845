"""Processes killed with SIGKILL: BackupAndRestore resumes exactly, and `latest_checkpoint`
always names a complete, loadable checkpoint.

Subprocesses are slow to start here (`import torch` takes seconds), so the atomicity test
starts one child that imports kiln once and then forks a fresh saver per trial; the
parent kills each saver at a random moment and inspects the folder.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import kiln
from kiln.checkpoint import Checkpoint, latest_checkpoint, load_checkpoint, state_file

pytestmark = pytest.mark.needs("checkpoint", "training")

TRAINER = textwrap.dedent("""
    import json, sys, time
    import numpy as np, torch
    torch.set_num_threads(1)
    import kiln

    backup, out = sys.argv[1], sys.argv[2]
    pause_at = tuple(int(v) for v in sys.argv[3].split(",")) if len(sys.argv) > 3 else None
    if sys.stdin.readline().strip() != "go":  # imports done; wait for the parent's signal
        sys.exit(1)
    kiln.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    x = rng.random((200, 8)).astype("float32")
    y = (x[:, :4].sum(1) > x[:, 4:].sum(1)).astype("int64")
    model = kiln.Sequential([kiln.Input((8,)), kiln.layers.Dense(32, activation="relu"),
                             kiln.layers.Dropout(0.25), kiln.layers.Dense(2)])
    schedule = kiln.optimizers.schedules.ExponentialDecay(0.02, decay_steps=7, decay_rate=0.9)
    model.compile(optimizer=kiln.optimizers.Adam(schedule),
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])

    class Progress(kiln.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            print(f"batch {self.epoch} {batch}", flush=True)
            if (self.epoch, batch) == pause_at:
                time.sleep(30)  # the parent kills us here, in the middle of the epoch

    callbacks = [kiln.callbacks.EarlyStopping(monitor="val_loss", patience=50), Progress(),
                 kiln.callbacks.BackupAndRestore(backup, save_freq=4)]
    history = model.fit(x, y, epochs=5, batch_size=16, validation_data=(x[:40], y[:40]),
                        callbacks=callbacks, verbose=0)
    json.dump(history.history, open(out, "w"))
    print("done", flush=True)
""")


def _start(args, go=True):
    proc = subprocess.Popen([sys.executable, "-c", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    if go:
        _go(proc)
    return proc


def _go(proc):
    proc.stdin.write(b"go\n")
    proc.stdin.flush()


def test_killed_fit_resumes_with_the_same_losses(tmp_path):
    # All three processes import kiln at once; the resumed one starts training only after
    # the victim was killed.
    reference = _start([TRAINER, str(tmp_path / "ref_backup"), str(tmp_path / "ref.json")])
    victim = _start([TRAINER, str(tmp_path / "backup"), str(tmp_path / "victim.json"), "2,6"])
    resumed = _start([TRAINER, str(tmp_path / "backup"), str(tmp_path / "resumed.json")],
                     go=False)
    for line in victim.stdout:  # 13 batches per epoch; backups every 4 batches
        if line.strip() == b"batch 2 6":
            break
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not os.path.exists(tmp_path / "victim.json")
    assert "checkpoint" in os.listdir(tmp_path / "backup")

    _go(resumed)
    first = resumed.stdout.readline().split()
    rest = resumed.stdout.read()
    assert resumed.wait() == 0 and reference.wait() == 0, rest
    # The last backup was taken after the 32nd batch (epoch 2, batch 5): the resumed run
    # trains batch 6 of epoch 2 first.
    assert first == [b"batch", b"2", b"6"]
    expected = json.load(open(tmp_path / "ref.json"))
    got = json.load(open(tmp_path / "resumed.json"))
    assert got == expected  # every epoch: loss, accuracy, val_loss, val_accuracy
    assert len(got["loss"]) == 5
    assert not os.path.exists(tmp_path / "backup")  # deleted after the finished run


SAVER = textwrap.dedent("""
    import os, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    import kiln
    from kiln.checkpoint import Checkpoint, CheckpointManager

    folder = sys.argv[1]
    inputs = kiln.Input((512,))
    model = kiln.Model(inputs, kiln.layers.Dense(512)(kiln.layers.Dense(1024)(inputs)))
    print("ready", flush=True)
    for line in sys.stdin:
        base = int(line.split()[1])
        pid = os.fork()
        if pid:
            print(f"pid {pid}", flush=True)
            os.waitpid(pid, 0)
            continue
        manager = CheckpointManager(Checkpoint(model=model), os.path.join(folder, "managed"),
                                    max_to_keep=2, async_save=True)
        version = base
        while True:
            version += 1
            for w in model.weights:
                w.assign(np.full(w.shape, version, dtype="float32"))
            model.save_weights(os.path.join(folder, "same", "cp.ckpt"))  # overwritten in place
            manager.save()  # numbered, written in the background, old ones deleted
            if version == base + 1:
                print("saving", flush=True)
""")


def _model():
    inputs = kiln.Input((512,))
    return kiln.Model(inputs, kiln.layers.Dense(512)(kiln.layers.Dense(1024)(inputs)))


def _check_complete(prefix, model, low, managed=False):
    """The checkpoint restores fully and holds one save's values (> low)."""
    reader = load_checkpoint(prefix)
    values = {float(np.asarray(reader.get_tensor(k)).flat[0]) for k in reader.entries()
              if k.endswith("VARIABLE_VALUE") and "save_counter" not in k}
    assert len(values) == 1, f"{prefix} mixes values of different saves: {values}"
    version = values.pop()
    assert version > low
    if managed:
        Checkpoint(model=model).restore(prefix).assert_consumed()
    else:
        model.load_weights(prefix).assert_consumed()
    assert float(model.weights[0].numpy().flat[0]) == version
    return version


def test_killed_saves_leave_latest_complete(tmp_path):
    saver = _start([SAVER, str(tmp_path)], go=False)
    assert saver.stdout.readline().strip() == b"ready"
    model, rng = _model(), random.Random(0)
    try:
        for trial in range(10):
            base = (trial + 1) * 100_000
            saver.stdin.write(f"go {base}\n".encode())
            saver.stdin.flush()
            pid = int(saver.stdout.readline().split()[1])
            assert saver.stdout.readline().strip() == b"saving"  # one round completed
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(pid, signal.SIGKILL)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a stale index is reported, then bypassed
                time.sleep(0.05)  # the fork's parent reaps it
                same = latest_checkpoint(str(tmp_path / "same"))
                assert same == str(tmp_path / "same" / "cp.ckpt")
                _check_complete(same, model, base)
                managed = tmp_path / "managed"
                latest = latest_checkpoint(str(managed))
                if latest is not None:
                    _check_complete(latest, model, 0, managed=True)
                    for name in state_file.read(managed).all:
                        _check_complete(str(managed / name), model, 0, managed=True)
    finally:
        saver.kill()
        saver.wait()
