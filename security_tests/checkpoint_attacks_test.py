"""Damaged and hostile object-graph checkpoints: every one fails with an error naming the file."""

import json
import os
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import kiln
from kiln.checkpoint import Checkpoint, latest_checkpoint, load_checkpoint
from kiln.checkpoint import format as fmt
from kiln.checkpoint import state_file
from kiln.errors import FileFormatError, UnsafeFileError, WeightsMismatchError


def _dense(units=2):
    layer = kiln.layers.Dense(units)
    layer.build((None, 3))
    return layer


def _save(folder, name="ckpt"):
    return Checkpoint(dense=_dense()).write(os.path.join(str(folder), name))


def _rewrite_index(prefix, change):
    path = fmt.index_path(prefix)
    index = json.loads(open(path).read())
    change(index)
    open(path, "w").write(json.dumps(index))


def _rewrite_header(prefix, change):
    path = fmt.data_path(prefix)
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    change(header)
    new = json.dumps(header).encode()
    new += b" " * ((-(8 + len(new))) % 8)
    open(path, "wb").write(struct.pack("<Q", len(new)) + new + raw[8 + n:])


def test_missing_checkpoint(sandbox):
    with pytest.raises(FileNotFoundError, match="No checkpoint found at .*absent"):
        load_checkpoint(str(sandbox.work / "absent"))


def test_prefix_without_data_file(sandbox):
    prefix = _save(sandbox.work)
    os.remove(fmt.data_path(prefix))
    with pytest.raises(FileNotFoundError, match="incomplete: the index .* exists but the data "
                                                "file .*ckpt.data-00000-of-00001"):
        load_checkpoint(prefix)


def test_prefix_without_index(sandbox):
    prefix = _save(sandbox.work)
    os.remove(fmt.index_path(prefix))
    with pytest.raises(FileNotFoundError, match="the index .*ckpt.index' does not"):
        load_checkpoint(prefix)


def test_state_file_naming_a_missing_prefix(sandbox):
    state_file.write(sandbox.work, state_file.CheckpointState("ckpt-9", ["ckpt-9"]))
    with pytest.raises(FileNotFoundError, match="names 'ckpt-9'"):
        latest_checkpoint(str(sandbox.work))
    with pytest.raises(FileNotFoundError, match="names 'ckpt-9'"):
        Checkpoint(dense=_dense()).restore(str(sandbox.work))


@pytest.mark.parametrize("name", ["../../../outside/secret", os.path.abspath("/etc/passwd"),
                                  "../work/ckpt", "sub/../../x"])
def test_state_file_cannot_point_outside_its_folder(sandbox, name):
    _save(sandbox.outside, "secret")  # a real checkpoint a traversal would reach
    sandbox.freeze()
    state_file.write(sandbox.work, state_file.CheckpointState(name, [name]))
    with pytest.raises(UnsafeFileError, match="not a plain checkpoint prefix"):
        latest_checkpoint(str(sandbox.work))
    with pytest.raises(UnsafeFileError):
        kiln.checkpoint.CheckpointManager(Checkpoint(), str(sandbox.work))


def test_index_pointing_outside_the_data_file(sandbox):
    prefix = _save(sandbox.work)

    def grow(index):
        index["entries"]["dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"]["offset"] = 10**9

    _rewrite_index(prefix, grow)
    with pytest.raises(FileFormatError, match="(?s)does not match its data file.*dense/kernel"
                                              ".*outside the data file"):
        load_checkpoint(prefix)


def test_index_disagreeing_with_the_header(sandbox):
    prefix = _save(sandbox.work)

    def reshape(index):
        index["entries"]["dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"]["shape"] = [2, 3]

    _rewrite_index(prefix, reshape)
    with pytest.raises(FileFormatError, match="index says float32 \\[2, 3\\]"):
        load_checkpoint(prefix)


def test_truncated_data_file(sandbox):
    prefix = _save(sandbox.work)
    path = fmt.data_path(prefix)
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[:-8])
    with pytest.raises(FileFormatError, match="does not fit .* or the file"):
        load_checkpoint(prefix)


def test_interrupted_save_leaves_a_loadable_checkpoint(sandbox):
    """New data file + index of the previous save: the data file's own header wins."""
    layer = _dense()
    prefix = Checkpoint(dense=layer).write(str(sandbox.work / "ckpt"))
    old_index = open(fmt.index_path(prefix), "rb").read()
    layer.kernel.assign(np.full((3, 2), 7.0, "float32"))
    Checkpoint(dense=layer).write(prefix)
    open(fmt.index_path(prefix), "wb").write(old_index)
    with pytest.warns(UserWarning, match="belongs to an earlier save"):
        reader = load_checkpoint(prefix)
    np.testing.assert_array_equal(reader.get_tensor("dense/kernel"), np.full((3, 2), 7.0))


def test_plain_safetensors_file_is_not_a_checkpoint(sandbox):
    prefix = str(sandbox.work / "fake")
    save_file({"x": torch.zeros(2)}, fmt.data_path(prefix))
    open(fmt.index_path(prefix), "w").write("{}")
    with pytest.raises(FileFormatError, match="not a kiln checkpoint"):
        load_checkpoint(prefix)


def test_newer_format_version_is_refused(sandbox):
    prefix = _save(sandbox.work)
    _rewrite_header(prefix, lambda h: h["__metadata__"].update(format_version="9"))
    with pytest.raises(FileFormatError, match="format_version='9'"):
        load_checkpoint(prefix)


def _rewrite_graph(prefix, change):
    reader = load_checkpoint(prefix)
    tensors = {k: torch.as_tensor(reader.get_tensor(k)) for k in reader.entries()
               if k != fmt.GRAPH_KEY}
    graph = json.loads(reader.get_tensor(fmt.GRAPH_KEY))
    change(graph)
    tensors[fmt.GRAPH_KEY] = torch.frombuffer(bytearray(json.dumps(graph).encode()),
                                              dtype=torch.uint8)
    fmt.write(prefix, tensors)


@pytest.mark.parametrize("change, match", [
    (lambda g: g["nodes"][0]["children"].append(["x", 999]), "malformed children"),
    (lambda g: g["nodes"][2].update(key="no/such/key"), "does not hold"),
    (lambda g: g.update(format="something else"), "not a kiln object graph"),
    (lambda g: g.update(nodes=[]), "has no nodes"),
])
def test_malformed_object_graph(sandbox, change, match):
    prefix = _save(sandbox.work)
    _rewrite_graph(prefix, change)
    with pytest.raises(FileFormatError, match=match):
        Checkpoint(dense=_dense()).restore(prefix)


def test_graph_class_names_select_no_code(sandbox):
    prefix = _save(sandbox.work)
    _rewrite_graph(prefix, lambda g: [n.update({"class": "os.system"}) for n in g["nodes"]])
    Checkpoint(dense=_dense()).restore(prefix).assert_consumed()


def test_wrong_shapes_are_listed(sandbox):
    prefix = _save(sandbox.work)
    with pytest.raises(WeightsMismatchError, match="2 problems"):
        Checkpoint(dense=_dense(units=5)).restore(prefix)
