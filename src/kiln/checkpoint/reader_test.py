import os

import numpy as np
import pytest
import torch

import kiln
from kiln.checkpoint import Checkpoint, list_variables, load_checkpoint


class CustomLayer(kiln.layers.Layer):
    def __init__(self, a):
        self.var = kiln.Variable(a, name="var_a")


def test_guide_reader_maps(tmp_path):
    path = Checkpoint(layer=CustomLayer(5)).save(str(tmp_path / "custom_layer"))
    reader = load_checkpoint(path)
    dtypes = reader.get_variable_to_dtype_map()
    assert set(dtypes) == {"save_counter/.ATTRIBUTES/VARIABLE_VALUE",
                           "_CHECKPOINTABLE_OBJECT_GRAPH",
                           "layer/var/.ATTRIBUTES/VARIABLE_VALUE"}
    assert dtypes["save_counter/.ATTRIBUTES/VARIABLE_VALUE"] == "int64"
    assert dtypes["_CHECKPOINTABLE_OBJECT_GRAPH"] == "string"
    shapes = reader.get_variable_to_shape_map()
    assert shapes["layer/var/.ATTRIBUTES/VARIABLE_VALUE"] == []
    assert shapes["_CHECKPOINTABLE_OBJECT_GRAPH"] == []
    assert int(reader.get_tensor("layer/var/.ATTRIBUTES/VARIABLE_VALUE")) == 5


def test_get_tensor_accepts_short_keys(tmp_path):
    layer = kiln.layers.Dense(2)
    layer.build((None, 3))
    path = Checkpoint(dense=layer).write(str(tmp_path / "c"))
    reader = load_checkpoint(path)
    assert reader.has_tensor("dense/kernel") and not reader.has_tensor("dense/nope")
    kernel = reader.get_tensor("dense/kernel")
    assert isinstance(kernel, np.ndarray)
    np.testing.assert_array_equal(kernel, layer.kernel.numpy())
    with pytest.raises(KeyError, match="has no tensor 'dense/nope'"):
        reader.get_tensor("dense/nope")
    graph = reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
    assert isinstance(graph, bytes) and b"kiln.checkpoint.object_graph" in graph


def test_bfloat16_values_come_back_as_torch(tmp_path):
    v = kiln.Variable(np.ones(3, "float32"), dtype="bfloat16", name="v")
    reader = load_checkpoint(Checkpoint(v=v).write(str(tmp_path / "c")))
    value = reader.get_tensor("v")
    assert isinstance(value, torch.Tensor) and value.dtype == torch.bfloat16


def test_list_variables_is_sorted_and_folders_resolve(tmp_path):
    layer = kiln.layers.Dense(2)
    layer.build((None, 3))
    Checkpoint(dense=layer).save(str(tmp_path / "c"))
    listed = list_variables(str(tmp_path))
    assert listed == sorted(listed)
    assert ("dense/kernel/.ATTRIBUTES/VARIABLE_VALUE", [3, 2]) in listed


def test_folder_without_state_file(tmp_path):
    os.mkdir(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="folder without a `checkpoint` state file"):
        load_checkpoint(str(tmp_path / "empty"))
