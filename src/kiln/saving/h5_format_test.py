import io
import shutil

import h5py
import numpy as np
import pytest
import torch
from h5py import h5t

from kiln.saving.h5_format import FileTree, datatype_message
from kiln.saving.h5_writer import H5Writer

DTYPES = ["<f2", "<f4", "<f8", ">f4", ">f8", "<i1", "<i2", "<i4", "<i8", ">i4", "<u1", "<u2",
          "<u4", "<u8", "?", "V2"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_datatype_messages_match_libhdf5(dtype):
    # H5Tencode = 2 bytes of framing + the datatype message libhdf5 writes into headers.
    expected = h5t.py_create(np.dtype(dtype), logical=True).encode()[2:]
    assert datatype_message(np.dtype(dtype)) == expected


def test_unsupported_dtype_is_refused():
    with pytest.raises(TypeError, match="No HDF5 encoding"):
        datatype_message(np.dtype("complex64"))


def _write_big_tree(target, groups=300, datasets=20):
    rng = np.random.default_rng(0)
    values = {}
    with H5Writer(target) as w:
        for i in range(groups):  # > 8 * 32 entries: a two-level group B-tree
            path = f"layers/dense_{i}" if i else "layers/dense"
            arrays = [rng.standard_normal((3, i % 4 + 1)).astype(np.float32),
                      np.arange(i % 3, dtype=np.int64)]
            values[path] = arrays
            w.put(path, arrays, name=f"nämé_{i}")
        w.put("", [], name="model")
        w.put("layers/ünï", [np.float32(3), np.array([True, False]), np.zeros((0, 3), "<f2"),
                             torch.zeros(2, dtype=torch.bfloat16), np.arange(4, dtype=">f8")],
              name="u")
        w.put("optimizer", [np.ones(5) * k for k in range(datasets)], name="adam")
    return values


def test_libhdf5_reads_every_object(tmp_path):
    path = tmp_path / "big.weights.h5"
    values = _write_big_tree(path)
    with h5py.File(path, "r") as f:
        assert len(f["layers"]) == 301
        for name, arrays in values.items():  # every lookup goes through the B-trees
            group = f[name + "/vars"]
            assert group.attrs["name"].startswith("nämé_")
            for i, array in enumerate(arrays):
                np.testing.assert_array_equal(group[str(i)][()], array)
                assert group[str(i)].dtype == array.dtype
        assert f["vars"].attrs["name"] == "model" and len(f["vars"]) == 0
        odd = f["layers/ünï/vars"]
        assert odd["0"].shape == () and odd["0"][()] == 3
        assert odd["1"].dtype == bool and list(odd["1"][()]) == [True, False]
        assert odd["2"].shape == (0, 3)
        assert odd["3"].dtype == np.dtype("V2") and odd["3"].attrs["dtype"] == "bfloat16"
        assert odd["4"].dtype == np.dtype(">f8") and list(odd["4"][()]) == [0, 1, 2, 3]
        assert [k for k in f["optimizer/vars"]] == sorted(str(i) for i in range(20))
        names = []
        f.visit(names.append)
        assert len(names) == 1 + 301 * 2 + sum(len(v) for v in values.values()) + 5 + 2 + 20 + 1


def test_libhdf5_can_modify_the_file(tmp_path):
    path = tmp_path / "big.weights.h5"
    _write_big_tree(path)
    with h5py.File(path, "r+") as f:  # insertions split kiln's B-tree nodes, heaps grow
        for i in range(40):
            f.create_group(f"layers/added_{i:02d}/vars").attrs["name"] = "a" * 300
            f[f"layers/added_{i:02d}/vars/0"] = np.full(3, i)
        del f["layers/dense_7"]
        f["vars"].attrs["name"] = "renamed"
    with h5py.File(path, "r") as f:
        assert len(f["layers"]) == 301 + 40 - 1
        assert f["layers/added_39/vars/0"][0] == 39 and "dense_7" not in f["layers"]
        assert f["vars"].attrs["name"] == "renamed"
        assert f["layers/dense_299/vars"].attrs["name"] == "nämé_299"


def test_layout_superblock_data_then_metadata():
    buffer = io.BytesIO()
    with H5Writer(buffer) as w:
        w.put("a", [np.arange(10, dtype=np.float32), np.arange(3, dtype=np.int8)])
    data = buffer.getvalue()
    assert data[:8] == b"\x89HDF\r\n\x1a\n" and len(data) == w.size
    with h5py.File(io.BytesIO(data), "r") as f:
        first = f["a/vars/0"].id.get_offset()
        second = f["a/vars/1"].id.get_offset()
    assert first % 64 == 0 and second % 64 == 0 and first < second
    assert data[first:first + 40] == np.arange(10, dtype=np.float32).tobytes()
    assert data[second:second + 3] == bytes([0, 1, 2])


def test_tree_refuses_dataset_where_group_is_needed():
    tree = FileTree()
    group = tree.group(["a"])
    tree.add_dataset(group, "x", (1,), np.dtype("f4"), 128, 4)
    with pytest.raises(ValueError, match="already exists"):
        tree.add_dataset(group, "x", (1,), np.dtype("f4"), 192, 4)
    with pytest.raises(ValueError, match="is a dataset"):
        tree.group(["a", "x", "b"])


def test_copy_of_file_is_identical_on_rewrite(tmp_path):
    first, second = tmp_path / "a.h5", tmp_path / "b.h5"
    _write_big_tree(first, groups=20, datasets=3)
    _write_big_tree(second, groups=20, datasets=3)
    assert first.read_bytes() == second.read_bytes()  # deterministic output
    shutil.copy(first, tmp_path / "c.h5")
