"""Format version 1 golden artifacts (test_data/torch_artifact_v1) stay loadable.

They were written once by kiln 0.1.0 with torch 2.13 (see make_golden.py there). A failure
here means artifacts users already have would stop loading: fix the reader, never the files.
"""

import json
import os
import shutil

import numpy as np
import pytest
import torch

import kiln
from kiln.errors import FileFormatError

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                      os.pardir, "test_data", "torch_artifact_v1")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(GOLDEN, "expected.npz")) as data:
        return dict(data)


def test_exported_model_loads_with_kiln_and_plain_torch(expected):
    artifact = kiln.export.load(os.path.join(GOLDEN, "exported_model"))
    np.testing.assert_allclose(artifact.serve(expected["x"]).numpy(), expected["serve"],
                               rtol=1e-5, atol=1e-6)
    program = torch.export.load(os.path.join(GOLDEN, "exported_model", "serve.pt2")).module()
    with torch.no_grad():
        out = program(torch.from_numpy(expected["x"][:1]))
    np.testing.assert_allclose(out.numpy(), expected["serve"][:1], rtol=1e-5, atol=1e-6)


def test_archive_endpoints_and_collections(expected):
    revived = kiln.export.load(os.path.join(GOLDEN, "archive"))
    feed = {"a": expected["a"], "b": expected["b"]}
    np.testing.assert_allclose(revived.serve(feed).numpy(), expected["archive_serve"],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(revived.embed(features=feed).numpy(), expected["archive_embed"],
                               rtol=1e-5, atol=1e-6)
    assert len(revived.head_vars) == 2
    for i, tensor in enumerate(revived.head_vars):
        np.testing.assert_array_equal(tensor.numpy(), expected[f"head_vars/{i}"])


def test_model_directory_restores_and_resumes(expected):
    model = kiln.models.load_model(os.path.join(GOLDEN, "my_model"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["serve"],
                               rtol=1e-5, atol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == 2
    served = kiln.export.load(os.path.join(GOLDEN, "my_model"))(expected["x"])
    np.testing.assert_allclose(served.numpy(), expected["serve"], rtol=1e-5, atol=1e-6)


def test_damaged_golden_copy_is_refused(tmp_path):
    copy = tmp_path / "exported_model"
    shutil.copytree(os.path.join(GOLDEN, "exported_model"), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    data = bytearray((copy / "variables.safetensors").read_bytes())
    data[-1] ^= 0x01
    (copy / "variables.safetensors").write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="variables.safetensors"):
        kiln.export.load(copy)
