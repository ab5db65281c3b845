"""Hostile HDF5 weights files: refused on open, naming the offending HDF5 path."""

import h5py
import numpy as np
import pytest
import torch

from kiln.errors import FileFormatError, UnsafeFileError
from kiln.saving.h5_store import H5Reader


def _file(sandbox, build):
    path = sandbox.work / "m.weights.h5"
    with h5py.File(path, "w") as f:
        f["layers/dense/vars/0"] = np.ones((2, 2), np.float32)
        build(f)
    return path


def _refused(sandbox, build, match):
    path = _file(sandbox, build)
    with pytest.raises(UnsafeFileError, match=match):
        H5Reader(path)


def test_external_link(sandbox):
    secret = sandbox.outside / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["x"] = np.arange(4.0)
    sandbox.freeze()

    def build(f):
        f["layers/dense/vars/1"] = h5py.ExternalLink(str(secret), "/x")

    _refused(sandbox, build, r"HDF5 path '/layers/dense/vars/1' is an external link")


def test_soft_link(sandbox):
    def build(f):
        f["layers/other/vars"] = h5py.SoftLink("/layers/dense/vars")

    _refused(sandbox, build, "HDF5 path '/layers/other/vars' is a soft link")


def test_dangling_soft_link(sandbox):
    def build(f):
        f["vars/0"] = h5py.SoftLink("/nowhere")

    _refused(sandbox, build, "HDF5 path '/vars/0' is a soft link")


def test_external_storage_dataset(sandbox):
    secret = sandbox.outside / "secret.bin"
    secret.write_bytes(np.arange(8, dtype=np.float32).tobytes())
    sandbox.freeze()

    def build(f):
        f.create_dataset("layers/dense/vars/1", shape=(8,), dtype="f4",
                         external=[(str(secret), 0, 32)])

    _refused(sandbox, build, "'/layers/dense/vars/1' is a dataset with external storage")


def test_virtual_dataset(sandbox):
    source = sandbox.outside / "source.h5"
    with h5py.File(source, "w") as f:
        f["data"] = np.arange(4.0)
    sandbox.freeze()

    def build(f):
        layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(4,))
        f["layers/dense"].create_group("vars2")
        f["layers/dense/vars2"].create_virtual_dataset("0", layout)

    _refused(sandbox, build, "'/layers/dense/vars2/0' is a virtual dataset")


@pytest.mark.parametrize("chunks", [None, (1000, 1000)])
def test_shape_bomb(sandbox, chunks):
    def build(f):
        f.create_dataset("layers/dense/vars/1", shape=(1_000_000, 1_000_000), dtype="f4",
                         chunks=chunks)

    _refused(sandbox, build, r"declaring shape \(1000000, 1000000\) \(4000000000000 bytes\) .*"
                             "shape bomb")


def test_string_dataset(sandbox):
    def build(f):
        f["layers/dense/vars/1"] = np.array([b"abc", b"def"])

    _refused(sandbox, build, "'/layers/dense/vars/1' is a dataset of string type")


def test_variable_length_string_dataset(sandbox):
    def build(f):
        f.create_dataset("layers/dense/vars/1", data=["a", "bc"], dtype=h5py.string_dtype())

    _refused(sandbox, build, "dataset of string type")


def test_object_reference_dataset(sandbox):
    def build(f):
        dset = f.create_dataset("layers/dense/vars/1", shape=(1,), dtype=h5py.ref_dtype)
        dset[0] = f["layers/dense/vars/0"].ref

    _refused(sandbox, build, r"reference \(object\) type")


def test_vlen_object_dataset(sandbox):
    def build(f):
        dset = f.create_dataset("layers/dense/vars/1", shape=(2,), dtype=h5py.vlen_dtype("f4"))
        dset[0] = np.arange(3.0)

    _refused(sandbox, build, "variable-length type")


def test_compound_dataset(sandbox):
    def build(f):
        f["layers/dense/vars/1"] = np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])

    _refused(sandbox, build, "compound type")


def test_opaque_without_bfloat16_marker(sandbox):
    def build(f):
        f["layers/dense/vars/1"] = np.zeros(3, dtype="V4")

    _refused(sandbox, build, r"opaque \(4 bytes, no dtype=\"bfloat16\" marker\)")


@pytest.mark.parametrize("options", [{"compression": "gzip"}, {"compression": "lzf"},
                                     {"shuffle": True, "chunks": (4,)}, {"fletcher32": True}])
def test_compressed_or_filtered_dataset(sandbox, options):
    def build(f):
        f.create_dataset("layers/dense/vars/1", data=np.zeros(64, np.float32), **options)

    _refused(sandbox, build, "'/layers/dense/vars/1' is a dataset using filters/compression")


def test_committed_datatype(sandbox):
    def build(f):
        f["layers/dense/mytype"] = np.dtype("f4")

    _refused(sandbox, build, "committed datatype")


def test_dataset_beyond_end_of_member(sandbox):
    """An HDF5 file cut to a window: validation must use the window size, not the file's."""
    path = _file(sandbox, lambda f: f.create_dataset("big", data=np.ones(100_000, np.float32)))
    size = path.stat().st_size
    with pytest.raises(FileFormatError, match="not a readable HDF5 file .*truncated"):
        H5Reader((path, 0, size - 200_000))


def test_hard_link_cycle_is_walked_once(sandbox):
    def build(f):
        f["layers/dense/loop"] = f["layers"]

    path = _file(sandbox, build)
    with H5Reader(path) as reader:
        assert reader.keys() == {"layers/dense"}
        out = torch.empty(2, 2)
        reader.read_into("layers/dense", 0, out)
        assert torch.equal(out, torch.ones(2, 2))
