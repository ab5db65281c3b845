import io
import os
import zlib

import h5py
import numpy as np
import pytest
import torch

from kiln.errors import FileFormatError, WeightsMismatchError
from kiln.saving.h5_store import H5Reader, H5Writer


def _write_sample(target):
    kernel = torch.randn(4, 3)
    with H5Writer(target) as w:
        w.put("layers/dense", [kernel, np.arange(3, dtype=np.float32)], name="d1")
        w.put("layers/input_layer", [], name="inp")
        w.put("", [], name="model")
        w.put("optimizer", [torch.tensor(7, dtype=torch.int32)]
              + [torch.full((2,), float(i)) for i in range(11)], name="adam")
    return kernel


def test_layout_matches_keras(tmp_path):
    path = tmp_path / "m.weights.h5"
    _write_sample(path)
    with h5py.File(path, "r") as f:
        assert dict(f.attrs) == {}
        assert f["layers/dense/vars"].attrs["name"] == "d1"
        assert f["vars"].attrs["name"] == "model" and len(f["vars"]) == 0
        assert len(f["layers/input_layer/vars"]) == 0
        dset = f["layers/dense/vars/0"]
        assert dset.dtype == np.dtype("<f4") and dset.shape == (4, 3)
        plist = dset.id.get_create_plist()
        assert plist.get_layout() == h5py.h5d.CONTIGUOUS and plist.get_nfilters() == 0
        assert f["optimizer/vars/0"].shape == () and f["optimizer/vars/0"].dtype == np.int32
        attr = h5py.h5a.open(f["layers/dense/vars"].id, b"name")
        assert attr.get_type().is_variable_str()  # what Keras/h5py write for str attributes


def test_round_trip_numeric_order_and_specs(tmp_path):
    path = tmp_path / "m.weights.h5"
    kernel = _write_sample(path)
    with H5Reader(path) as r:
        assert r.keys() == {"layers/dense", "layers/input_layer", "", "optimizer"}
        assert r.group_name("layers/dense") == "d1"
        values = r.get("optimizer")
        assert int(values[0]) == 7
        assert [float(v[0]) for v in values[1:]] == [float(i) for i in range(11)]  # 10 after 9
        assert r.get("layers/input_layer") == []
        assert r.get("layers/missing") is None and r.specs("layers/missing") is None
        assert r.specs("layers/dense") == [((4, 3), "float32"), ((3,), "float32")]
        np.testing.assert_array_equal(r.get("layers/dense")[0], kernel.numpy())
        assert isinstance(r.get("layers/dense", as_torch=True)[0], torch.Tensor)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int8,
                                   torch.int64, torch.uint8, torch.bool])
def test_read_into_all_dtypes(tmp_path, dtype):
    value = (torch.randn(5, 7) * 50).to(dtype)
    path = tmp_path / "d.weights.h5"
    with H5Writer(path) as w:
        w.put("x", [value, value[0, 0]])
    out = torch.empty(5, 7, dtype=dtype)
    with H5Reader(path) as r:
        r.read_into("x", 0, out)
        assert torch.equal(out, value)
        scalar = torch.empty((), dtype=dtype)
        r.read_into("x", 1, scalar)
        assert torch.equal(scalar, value[0, 0])


def test_bfloat16_is_opaque_v2_with_dtype_attr(tmp_path):
    path = tmp_path / "bf.weights.h5"
    value = torch.randn(3, 2).bfloat16()
    with H5Writer(path) as w:
        w.put("layers/dense", [value])
    with h5py.File(path, "r") as f:
        dset = f["layers/dense/vars/0"]
        assert dset.dtype == np.dtype("V2") and dset.attrs["dtype"] == "bfloat16"
        assert dset.id.get_type().get_class() == h5py.h5t.OPAQUE
    with H5Reader(path) as r:
        (got,) = r.get("layers/dense")
        assert got.dtype == torch.bfloat16 and torch.equal(got, value)


def test_read_into_rejects_mismatch_and_missing(tmp_path):
    path = tmp_path / "m.weights.h5"
    _write_sample(path)
    with H5Reader(path) as r:
        with pytest.raises(WeightsMismatchError, match=r"expected \(3, 4\) float32, found \(4, 3\)") as info:
            r.read_into("layers/dense", 0, torch.empty(3, 4))
        assert info.value.problems == [
            "layers/dense/vars/0  expected (3, 4) float32, found (4, 3) float32"]
        with pytest.raises(WeightsMismatchError, match="float64"):
            r.read_into("layers/dense", 0, torch.empty(4, 3, dtype=torch.float64))
        with pytest.raises(WeightsMismatchError, match="no variable 'layers/dense/vars/2'"):
            r.read_into("layers/dense", 2, torch.empty(3))
        with pytest.raises(TypeError, match="contiguous CPU torch tensor"):
            r.read_into("layers/dense", 0, torch.empty(3, 4).t())


def test_read_into_parameter_requiring_grad(tmp_path):
    path = tmp_path / "m.weights.h5"
    kernel = _write_sample(path)
    param = torch.nn.Parameter(torch.zeros(4, 3))
    with H5Reader(path) as r:
        r.read_into("layers/dense", 0, param)
    assert torch.equal(param.detach(), kernel) and param.requires_grad


def test_chunked_and_big_endian_use_fallback_path(tmp_path):
    path = tmp_path / "odd.weights.h5"
    data = np.arange(12, dtype=">f8").reshape(3, 4)
    with h5py.File(path, "w") as f:
        f.create_dataset("a/vars/0", data=data.astype("<f4"), chunks=(1, 4))
        f.create_dataset("a/vars/1", data=data)
    with H5Reader(path) as r:
        first, second = r.get("a")
        np.testing.assert_array_equal(first, data.astype(np.float32))
        np.testing.assert_array_equal(second, data)
        assert second.dtype == np.float64


def test_bytesio_and_embedded_member_sources(tmp_path):
    buffer = io.BytesIO()
    with H5Writer(buffer) as w:
        w.put("layers/dense", [torch.arange(6.0).reshape(2, 3)])
    payload = buffer.getvalue()
    with H5Reader(io.BytesIO(payload)) as r:
        out = torch.empty(2, 3)
        r.read_into("layers/dense", 0, out)
        assert torch.equal(out, torch.arange(6.0).reshape(2, 3))
    container = tmp_path / "container.bin"
    container.write_bytes(b"x" * 1001 + payload + b"y" * 77)
    with H5Reader((container, 1001, len(payload))) as r:
        assert r.keys() == {"layers/dense"}
        out = torch.empty(2, 3)
        r.read_into("layers/dense", 0, out)
        assert torch.equal(out, torch.arange(6.0).reshape(2, 3))
    with open(container, "rb") as f, H5Reader((f, 1001, len(payload)), what="member") as r:
        np.testing.assert_array_equal(r.get("layers/dense")[0], np.arange(6.0).reshape(2, 3))


def test_truncated_and_not_hdf5(tmp_path):
    path = tmp_path / "m.weights.h5"
    _write_sample(path)
    data = path.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="cut.h5"):
        H5Reader(tmp_path / "cut.h5")
    (tmp_path / "junk.h5").write_bytes(b"not an hdf5 file" * 100)
    with pytest.raises(FileFormatError, match="not a readable HDF5 file"):
        H5Reader(tmp_path / "junk.h5")
    with pytest.raises(FileFormatError, match="outside the file"):
        H5Reader((path, 10, len(data)))


def test_non_index_dataset_names_are_refused(tmp_path):
    path = tmp_path / "m.weights.h5"
    with h5py.File(path, "w") as f:
        f["a/vars/01"] = np.zeros(2)
        f["b/vars/0"] = np.zeros(2)
        f["b/vars/2"] = np.zeros(2)
    with H5Reader(path) as r:
        with pytest.raises(FileFormatError, match="'/a/vars/01' is not a variable index"):
            r.get("a")
        with pytest.raises(FileFormatError, match=r"numbered \[0, 2\]"):
            r.get("b")


def test_writer_failure_keeps_previous_file(tmp_path):
    path = tmp_path / "m.weights.h5"
    _write_sample(path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="complex64"):
        with H5Writer(path) as w:
            w.put("a", [torch.zeros(2, dtype=torch.complex64)])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.weights.h5"]
    with pytest.raises(ValueError, match="already written"):
        with H5Writer(tmp_path / "n.weights.h5") as w:
            w.put("a", [np.zeros(1)])
            w.put("a", [np.zeros(1)])
    with pytest.raises(ValueError, match="no leading"):
        H5Writer(io.BytesIO()).put("/a", [])


def test_keras_oracle_reads_kiln_file_and_kiln_reads_keras_file(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    def build():
        inp = keras.Input((4,), name="inp")
        x = keras.layers.Dense(3, name="d1")(inp)
        x = keras.layers.Dense(2, dtype="bfloat16", name="d2")(x)
        return keras.Model(inp, x, name="small")

    source = build()
    source.save_weights(tmp_path / "keras.weights.h5")
    with H5Reader(tmp_path / "keras.weights.h5") as r:
        assert r.keys() == {"", "layers/input_layer", "layers/dense", "layers/dense_1"}
        stored = {p: r.get(p, as_torch=True) for p in r.keys()}
    for path, layer in (("layers/dense", source.layers[1]), ("layers/dense_1", source.layers[2])):
        for got, var in zip(stored[path], layer.weights):
            assert torch.equal(got, var.value.detach().cpu())
    # Rewrite the same data with kiln (names from the Keras file), load into fresh Keras.
    with H5Writer(tmp_path / "kiln.weights.h5") as w:
        for path, values in stored.items():
            w.put(path, values, name="x")
    target = build()
    target.load_weights(tmp_path / "kiln.weights.h5")
    sample = np.random.rand(5, 4).astype("float32")
    np.testing.assert_array_equal(np.asarray(source(sample).float().detach()),
                                  np.asarray(target(sample).float().detach()))


def test_writer_reports_size_and_crc_and_keeps_scalars(tmp_path):
    path = tmp_path / "m.weights.h5"
    with H5Writer(path, checksum=True) as w:
        w.put("a", [np.float32(2.5), np.arange(5, dtype=np.int16), torch.ones(3, 3)])
    data = path.read_bytes()
    assert w.size == len(data) and w.crc32 == zlib.crc32(data)
    buffer = io.BytesIO()
    with H5Writer(buffer) as w:  # no checksum unless asked
        w.put("a", [np.ones(3)])
    assert w.crc32 is None and w.size == len(buffer.getvalue())
    with h5py.File(path, "r") as f:
        assert f["a/vars/0"].shape == () and f["a/vars/0"][()] == 2.5


def test_read_batch_and_pending_checksum(tmp_path):
    path = tmp_path / "m.weights.h5"
    kernel = _write_sample(path)
    crc = f"{zlib.crc32(path.read_bytes()):08x}"
    with H5Reader(path) as r:
        out = [torch.empty(4, 3), torch.empty(3)]
        r.expect_checksum("crc32", crc, lambda actual: pytest.fail("should match"))
        r.read_batch([("layers/dense", 1, out[1]), ("layers/dense", 0, out[0])])
        assert torch.equal(out[0], kernel) and torch.equal(out[1], torch.arange(3.0))
        mismatches = []
        r.expect_checksum("crc32", "00000000", mismatches.append)
        r.verify_checksum()
        assert mismatches == [crc]
        r.verify_checksum()  # nothing pending any more
        assert mismatches == [crc]


def test_native_open_only_for_aligned_members(tmp_path):
    buffer = io.BytesIO()
    with H5Writer(buffer) as w:
        w.put("layers/dense", [torch.arange(6.0).reshape(2, 3)])
    payload = buffer.getvalue()
    for prefix, native in ((512, True), (1001, False), (1024, True)):
        container = tmp_path / f"c{prefix}.bin"
        container.write_bytes(b"x" * prefix + payload + b"y" * 33)
        with H5Reader((container, prefix, len(payload))) as r:
            assert (r._h5.driver == "sec2") is native
            assert r.get("layers/dense")[0].tolist() == [[0, 1, 2], [3, 4, 5]]
    # An HDF5 file that HDF5 finds first (at 512) is not the member: read through a window.
    decoy = io.BytesIO()
    with H5Writer(decoy) as w:
        w.put("layers/dense", [torch.zeros(2, 3)])
    container = tmp_path / "decoy.bin"
    container.write_bytes((b"x" * 512 + decoy.getvalue()).ljust(8192, b"z") + payload)
    with H5Reader((container, 8192, len(payload))) as r:
        assert r._h5.driver == "fileobj"
        assert r.get("layers/dense")[0].tolist() == [[0, 1, 2], [3, 4, 5]]
