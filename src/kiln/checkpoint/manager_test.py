import os

import numpy as np

import kiln
from kiln.checkpoint import Checkpoint, CheckpointManager, latest_checkpoint, state_file


def _ckpt(value=0.0):
    v = kiln.Variable(np.full(3, value, "float32"), name="v")
    return Checkpoint(v=v), v


def _files(folder):
    return sorted(os.listdir(folder))


def test_keeps_the_newest_and_deletes_the_rest(tmp_path):
    ckpt, v = _ckpt()
    manager = CheckpointManager(ckpt, str(tmp_path / "m"), max_to_keep=2)
    assert manager.latest_checkpoint is None
    for i in range(1, 5):
        v.assign(np.full(3, i, "float32"))
        assert manager.save() == os.path.join(str(tmp_path / "m"), f"ckpt-{i}")
    assert manager.checkpoints == [str(tmp_path / "m" / "ckpt-3"), str(tmp_path / "m" / "ckpt-4")]
    assert _files(tmp_path / "m") == ["checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index",
                                      "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    state = state_file.read(tmp_path / "m")
    assert state.latest == "ckpt-4" and state.all == ["ckpt-3", "ckpt-4"]
    assert latest_checkpoint(str(tmp_path / "m")) == manager.latest_checkpoint
    restored, w = _ckpt()
    restored.restore(manager.latest_checkpoint).assert_consumed()
    np.testing.assert_array_equal(w.numpy(), [4, 4, 4])


def test_a_new_manager_recovers_the_kept_list(tmp_path):
    ckpt, _ = _ckpt()
    first = CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    for _ in range(3):
        first.save()
    second = CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    assert second.checkpoints == first.checkpoints
    second.save()
    assert [os.path.basename(p) for p in second.checkpoints] == ["ckpt-3", "ckpt-4"]
    assert "ckpt-2.index" not in os.listdir(tmp_path)


def test_checkpoint_number_and_name(tmp_path):
    ckpt, _ = _ckpt()
    manager = CheckpointManager(ckpt, str(tmp_path), checkpoint_name="step", max_to_keep=None)
    assert manager.save(checkpoint_number=100).endswith("step-100")
    assert manager.save(checkpoint_number=200).endswith("step-200")
    assert len(manager.checkpoints) == 2


def test_keep_every_n_hours_preserves_old_checkpoints(tmp_path, monkeypatch):
    import kiln.checkpoint.manager as manager_module

    clock = [1000.0]
    monkeypatch.setattr(manager_module.time, "time", lambda: clock[0])
    ckpt, _ = _ckpt()
    manager = CheckpointManager(ckpt, str(tmp_path), max_to_keep=1,
                                keep_checkpoint_every_n_hours=1)
    for hours in (0.5, 1.2, 1.5):
        clock[0] = 1000.0 + hours * 3600
        manager.save()
    # ckpt-1 (0.5 h) went without preservation; ckpt-2 (1.2 h) is kept forever.
    assert "ckpt-1.index" not in os.listdir(tmp_path)
    assert "ckpt-2.index" in os.listdir(tmp_path)
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-3"]


def test_interval_and_restore_or_initialize(tmp_path):
    step = kiln.Variable(np.int64(0), trainable=False, name="step")
    ckpt, v = _ckpt()
    calls = []
    manager = CheckpointManager(ckpt, str(tmp_path), step_counter=step, checkpoint_interval=5,
                                init_fn=lambda: calls.append(1))
    assert manager.restore_or_initialize() is None and calls == [1]
    saved = []
    for i in range(12):
        step.assign(i)
        saved.append(manager.save())
    assert [os.path.basename(p) for p in saved if p] == ["ckpt-0", "ckpt-5", "ckpt-10"]
    v.assign(np.zeros(3, "float32"))
    assert manager.restore_or_initialize().endswith("ckpt-10")


def test_async_manager(tmp_path):
    ckpt, v = _ckpt(1.0)
    manager = CheckpointManager(ckpt, str(tmp_path), max_to_keep=1, async_save=True)
    manager.save()
    v.assign(np.full(3, 2.0, "float32"))
    path = manager.save()  # waits for the first write, then snapshots again
    manager.sync()
    assert _files(tmp_path) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    restored, w = _ckpt()
    restored.restore(path).assert_consumed()
    np.testing.assert_array_equal(w.numpy(), [2, 2, 2])
