import os

import pytest
import torch

from kiln.checkpoint import format as fmt
from kiln.checkpoint import state_file
from kiln.errors import FileFormatError, UnsafeFileError


def _touch_checkpoint(prefix):
    fmt.write(prefix, {"x": torch.zeros(1)})


def test_round_trip(tmp_path):
    state = state_file.CheckpointState("ckpt-3", ["ckpt-2", "ckpt-3"], [1.5, 2.25], 1.0)
    state_file.write(tmp_path, state)
    text = (tmp_path / "checkpoint").read_text()
    assert text.splitlines()[0] == 'model_checkpoint_path: "ckpt-3"'
    assert 'all_model_checkpoint_paths: "ckpt-2"' in text
    back = state_file.read(tmp_path)
    assert (back.latest, back.all, back.timestamps, back.last_preserved) == (
        "ckpt-3", ["ckpt-2", "ckpt-3"], [1.5, 2.25], 1.0)


def test_latest_checkpoint_joins_folder_and_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert state_file.latest_checkpoint("training_2") is None
    os.mkdir("training_2")
    assert state_file.latest_checkpoint("training_2") is None
    _touch_checkpoint("training_2/cp-0050.ckpt")
    state_file.record_latest("training_2/cp-0050.ckpt")
    assert state_file.latest_checkpoint("training_2") == os.path.join("training_2", "cp-0050.ckpt")


def test_record_latest_keeps_existing_others_only_when_asked(tmp_path):
    for n in (1, 2):
        _touch_checkpoint(str(tmp_path / f"ckpt-{n}"))
        state_file.record_latest(str(tmp_path / f"ckpt-{n}"), keep_others=True)
    assert state_file.read(tmp_path).all == ["ckpt-1", "ckpt-2"]
    os.remove(fmt.index_path(str(tmp_path / "ckpt-1")))
    _touch_checkpoint(str(tmp_path / "ckpt-3"))
    state_file.record_latest(str(tmp_path / "ckpt-3"), keep_others=True)
    assert state_file.read(tmp_path).all == ["ckpt-2", "ckpt-3"]
    state_file.record_latest(str(tmp_path / "ckpt-3"))
    state = state_file.read(tmp_path)
    assert (state.latest, state.all, len(state.timestamps)) == ("ckpt-3", ["ckpt-3"], 1)


def test_missing_prefix_is_a_clear_error(tmp_path):
    state_file.write(tmp_path, state_file.CheckpointState("gone", ["gone"]))
    with pytest.raises(FileNotFoundError, match="names 'gone', but neither .*gone.index"):
        state_file.latest_checkpoint(tmp_path)


@pytest.mark.parametrize("name", ["../outside/ckpt", "/etc/passwd", "sub/ckpt", "..",
                                  "a\\..\\b", "", "x\x00y"])
def test_names_outside_the_folder_are_refused(tmp_path, name):
    state_file.write(tmp_path, state_file.CheckpointState("ok", [name]))
    with pytest.raises(UnsafeFileError, match="not a plain checkpoint prefix"):
        state_file.read(tmp_path)


@pytest.mark.parametrize("text, match", [
    ("model_checkpoint_path", "expected `field: value`"),
    ("model_checkpoint_path: unquoted", "cannot parse value"),
    ("all_model_checkpoint_timestamps: \"x\"", "must be a number"),
])
def test_malformed_state_files(tmp_path, text, match):
    (tmp_path / "checkpoint").write_text(text)
    with pytest.raises(FileFormatError, match=match):
        state_file.read(tmp_path)


def test_unknown_fields_are_ignored(tmp_path):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "a"\nfuture_field: 3\n')
    assert state_file.read(tmp_path).latest == "a"
