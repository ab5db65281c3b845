"""kiln's own format golden files (format version 1) stay readable by every later kiln.

`test_data/kiln_v1/` was written once by kiln 0.1.0 (see its `make_golden.py`): a `.keras`
archive with checksums in metadata.json (CRC-32 and SHA-256 variants for the weights
member), a `.weights.h5`, a sharded `.weights.json` with its shards, and a `.safetensors`
file. Each must load and reproduce the saved predictions; a damaged archive must be
refused with a `FileFormatError` that names the damaged member.

Do not regenerate these files to make a failing test pass: a failure here means files
users already have would stop loading. A format change gets a new version folder.
"""

import importlib.util
import json
import os
import shutil
import struct
import zipfile

import numpy as np
import pytest

import kiln
from kiln.errors import FileFormatError

pytestmark = pytest.mark.needs("saving", "serialization")

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "test_data",
                      "kiln_v1")
ARCHIVES = ["model.keras", "model_sha256.keras"]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "kiln_v1_make_golden", os.path.join(GOLDEN, "make_golden.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(GOLDEN, "expected.npz")) as data:
        return {key: data[key] for key in data.files}


def _golden(*parts):
    return os.path.join(GOLDEN, *parts)


def _numpy(value):
    return np.asarray(kiln.ops.convert_to_numpy(value))


def _check_predictions(model, expected):
    np.testing.assert_allclose(_numpy(model.predict(expected["x"], verbose=0)),
                               expected["pred"], atol=1e-6, rtol=0)


def _check_optimizer(model, expected):
    ours = [_numpy(v) for v in model.optimizer.variables]
    count = sum(1 for key in expected if key.startswith("opt/"))
    assert len(ours) == count
    for i, value in enumerate(ours):
        np.testing.assert_allclose(value, expected[f"opt/{i}"], atol=1e-7, rtol=0,
                                   err_msg=f"optimizer variable {i}")


def _fresh_model(compiled):
    model = GEN.build(kiln)
    return GEN.compile_model(kiln, model) if compiled else model


# -- the files load -------------------------------------------------------------------
@pytest.mark.parametrize("archive", ARCHIVES)
def test_archive_loads_and_keeps_training(archive, expected):
    model = kiln.models.load_model(_golden(archive))
    assert model.name == "golden_v1"
    _check_predictions(model, expected)
    _check_optimizer(model, expected)
    history = model.fit(expected["x"], expected["y"], batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_archive_metadata_layout():
    with zipfile.ZipFile(_golden("model.keras")) as zf:
        infos = zf.infolist()
        meta = json.loads(zf.read("metadata.json"))
    names = [info.filename for info in infos]
    assert names == ["config.json", "model.weights.h5", "metadata.json"]
    assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
    assert meta["keras_version"] == "3.15.1"
    assert meta["kiln"]["format_version"] == 1
    checksums = meta["kiln"]["checksums"]
    assert set(checksums) == {"config.json", "model.weights.h5"}
    assert checksums["config.json"].startswith("sha256:")
    assert checksums["model.weights.h5"].startswith("crc32:")


def test_load_weights_from_archive(expected):
    model = _fresh_model(compiled=True)
    model.load_weights(_golden("model.keras"))
    _check_predictions(model, expected)
    _check_optimizer(model, expected)


def test_weights_h5_loads(expected):
    model = _fresh_model(compiled=True)
    model.load_weights(_golden("model.weights.h5"))
    _check_predictions(model, expected)
    _check_optimizer(model, expected)


def test_sharded_weights_load(expected):
    with open(_golden("sharded", "model.weights.json")) as f:
        index = json.load(f)
    shards = {name for entry in index["weight_map"].values()
              for name in ([entry] if isinstance(entry, str) else entry)}
    assert len(shards) > 1, "the golden index should spread over several shards"
    model = _fresh_model(compiled=True)
    model.load_weights(_golden("sharded", "model.weights.json"))
    _check_predictions(model, expected)
    _check_optimizer(model, expected)


def test_safetensors_loads(expected):
    model = _fresh_model(compiled=False)
    model.load_weights(_golden("model.safetensors"))
    _check_predictions(model, expected)


# -- damaged archives are refused, naming the member -------------------------------------
def _member_span(path, member):
    """Offset and size of `member`'s stored bytes (the data after its local header)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def _corrupt_copy(tmp_path, archive, member, where):
    path = str(tmp_path / archive)
    shutil.copyfile(_golden(archive), path)
    offset, size = _member_span(path, member)
    position = offset + {"middle": size // 2, "last": size - 1}[where]
    with open(path, "r+b") as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ 0x01]))
    return path


@pytest.mark.parametrize("archive", ARCHIVES)
@pytest.mark.parametrize("where", ["middle", "last"])
def test_flipped_weights_byte_is_refused(tmp_path, archive, where):
    path = _corrupt_copy(tmp_path, archive, "model.weights.h5", where)
    with pytest.raises(FileFormatError) as info:
        kiln.models.load_model(path)
    message = str(info.value)
    assert "model.weights.h5" in message and "checksum" in message.lower(), message

    model = _fresh_model(compiled=False)
    with pytest.raises(FileFormatError, match="model.weights.h5"):
        model.load_weights(path)


def test_flipped_config_byte_is_refused(tmp_path):
    path = _corrupt_copy(tmp_path, "model.keras", "config.json", "middle")
    with pytest.raises(FileFormatError) as info:
        kiln.models.load_model(path)
    message = str(info.value)
    assert "config.json" in message and "checksum" in message.lower(), message
