import json
import zipfile

import numpy as np
import pytest
import torch

import kiln
from kiln.errors import FileFormatError
from kiln.saving.zip_archive import ArchiveReader


def _model():
    inp = kiln.Input((5,))
    x = kiln.layers.Dense(64, activation="relu")(inp)
    return kiln.Model(inp, kiln.layers.Dense(3)(x))


def test_archive_layout_and_round_trip(tmp_path):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        names = [info.filename for info in zf.infolist()]
        meta = json.loads(zf.read("metadata.json"))
    assert names == ["model.weights.h5", "config.json", "metadata.json"]
    assert meta["kiln"]["checksums"]["model.weights.h5"].startswith("crc32:")
    with ArchiveReader(path) as archive:
        assert archive.member_span("model.weights.h5")[0] == 512
    restored = kiln.models.load_model(path)
    x = np.random.rand(4, 5).astype("float32")
    np.testing.assert_allclose(np.asarray(restored.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), rtol=0, atol=0)


def _flip(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["tensor", "metadata"])
def test_damaged_weights_are_reported_as_checksum_mismatch(tmp_path, where):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    with ArchiveReader(path) as archive:
        start, size = archive.member_span("model.weights.h5")
    # Tensor bytes follow the superblock; HDF5 metadata sits at the end of the member.
    _flip(path, start + 1024 if where == "tensor" else start + size - 200)
    with pytest.raises(FileFormatError, match="checksum mismatch in member 'model.weights.h5'"):
        kiln.models.load_model(path)
    target = _model()
    before = [v.numpy().copy() for v in target.weights]
    with pytest.raises(FileFormatError, match="model.weights.h5"):
        target.load_weights(path)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, target.weights))


def test_sha256_weights_checksum_is_verified(tmp_path):
    from kiln.saving import keras_archive

    model = _model()
    path = tmp_path / "m.keras"
    keras_archive.save_model(model, str(path), weights_checksum="sha256")
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("metadata.json"))["kiln"]["checksums"][
            "model.weights.h5"].startswith("sha256:")
    kiln.models.load_model(path)
    with ArchiveReader(path) as archive:
        start, _ = archive.member_span("model.weights.h5")
    _flip(path, start + 2000)
    with pytest.raises(FileFormatError, match="checksum mismatch"):
        kiln.models.load_model(path)


def test_bfloat16_and_scalar_variables_round_trip(tmp_path):
    inp = kiln.Input((4,))
    model = kiln.Model(inp, kiln.layers.Dense(2, dtype="bfloat16")(inp))
    path = tmp_path / "bf.keras"
    model.save(path)
    restored = kiln.models.load_model(path)
    for a, b in zip(model.weights, restored.weights):
        assert a.dtype == b.dtype and torch.equal(a.value.detach(), b.value.detach())


def test_cycle_collector_is_paused_during_load_and_restored_after(tmp_path):
    import gc

    seen = []

    @kiln.saving.register_keras_serializable(package="gc_probe")
    class Probe(kiln.layers.Layer):
        def call(self, x):
            return x

        @classmethod
        def from_config(cls, config):
            seen.append(gc.isenabled())
            return super().from_config(config)

    inp = kiln.Input((3,))
    path = tmp_path / "probe.keras"
    kiln.Model(inp, Probe()(inp)).save(path)
    assert gc.isenabled()
    kiln.models.load_model(path)
    assert seen == [False] and gc.isenabled()
    _flip(path, 600)  # inside the weights: the load fails, the collector still comes back
    with pytest.raises(FileFormatError):
        kiln.models.load_model(path)
    assert gc.isenabled()
