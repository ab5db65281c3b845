import h5py
import numpy as np
import pytest

from kiln.errors import UnsafeFileError
from kiln.saving.h5_validation import dataset_dtype_name, scan_h5_file, validate_h5_file


@pytest.mark.parametrize("dtype,expected", [
    ("<f2", ("float16", True)), ("<f4", ("float32", True)), (">f8", ("float64", False)),
    ("<i1", ("int8", True)), ("<i8", ("int64", True)), ("<u2", ("uint16", True)),
    ("?", ("bool", True)),
])
def test_numeric_types_are_named(tmp_path, dtype, expected):
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["x"] = np.zeros(3, dtype=dtype)
        assert dataset_dtype_name(f["x"]) == expected


def test_bfloat16_needs_its_marker(tmp_path):
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["x"] = np.zeros(3, dtype="V2")
        assert dataset_dtype_name(f["x"])[0] is None
        f["x"].attrs["dtype"] = "bfloat16"
        assert dataset_dtype_name(f["x"]) == ("bfloat16", True)
        f["y"] = np.zeros(3, dtype="V2")
        f["y"].attrs["dtype"] = np.array([1, 2])  # a marker of the wrong kind
        assert dataset_dtype_name(f["y"])[0] is None


def test_vars_paths_and_empty_groups(tmp_path):
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f.create_group("vars")
        f.create_group("layers/input_layer/vars")
        f["layers/dense/vars/0"] = np.zeros(2)
        f.create_group("layers/no_vars_here")
        assert validate_h5_file(f, 10_000, "t.h5") == {"", "layers/input_layer", "layers/dense"}


def test_total_declared_size_must_fit_the_file(tmp_path):
    with h5py.File(tmp_path / "t.h5", "w") as f:
        for i in range(3):
            f.create_dataset(f"v/vars/{i}", shape=(200_000,), dtype="f4")  # never written
        with pytest.raises(UnsafeFileError, match="declare 2400000 bytes in total"):
            validate_h5_file(f, 2_000, "t.h5")


def test_scan_records_where_each_variable_lies(tmp_path):
    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f["layers/dense/vars/0"] = np.arange(6, dtype="<f4").reshape(2, 3)
        f.create_dataset("layers/dense/vars/1", data=np.arange(4.0), chunks=(2,))
        f["layers/dense/vars/2"] = np.arange(3, dtype=">i4")
        f["layers/alias/vars"] = f["layers/dense/vars"]  # a second hard link to one group
        f.create_group("layers/dense/vars/sub")
    size = path.stat().st_size
    with h5py.File(path, "r") as f:
        scan = scan_h5_file(f, size, "t.h5")
        offset = f["layers/dense/vars/0"].id.get_offset()
    # One object, reported once: under its first path in name order.
    assert set(scan.groups) == {"layers/alias"}
    members = dict(scan.groups["layers/alias"])
    assert members["sub"] == "group"
    first = members["0"]
    assert (first.shape, first.dtype, first.offset, first.nbytes, first.direct) == (
        (2, 3), "float32", offset, 24, True)
    assert path.read_bytes()[first.offset:first.offset + 24] == np.arange(6, dtype="<f4").tobytes()
    assert members["1"].offset is None and not members["1"].direct  # chunked
    assert members["2"].dtype == "int32" and not members["2"].direct  # big-endian


def test_offsets_are_relative_to_the_data_start(tmp_path):
    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["v/vars/0"] = np.ones(4, np.float32)
    with h5py.File(path, "r") as f:
        absolute = f["v/vars/0"].id.get_offset()
        scan = scan_h5_file(f, path.stat().st_size - 512, "ub.h5", base=512)
    assert dict(scan.groups["v"])["0"].offset == absolute - 512
