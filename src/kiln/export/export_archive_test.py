"""`kiln.export.ExportArchive`: the guide's MultiHeadAttention example, endpoints, errors."""

import os

import numpy as np
import pytest
import torch

import kiln
from kiln.errors import ExportError
from kiln.export import ExportArchive


def test_guide_multi_head_attention_example(tmp_path, capsys):
    layer = kiln.layers.MultiHeadAttention(2, 2)
    x1 = kiln.random.normal((3, 2, 2))
    x2 = kiln.random.normal((3, 2, 2))
    ref_output = layer(x1, x2).numpy()

    export_archive = ExportArchive()
    export_archive.track(layer)
    export_archive.add_endpoint(
        "call", layer.call,
        input_signature=[kiln.InputSpec(shape=(None, 2, 2), dtype="float32"),
                         kiln.InputSpec(shape=(None, 2, 2), dtype="float32")])
    export_archive.add_variable_collection("my_vars", layer.weights)
    assert len(export_archive.my_vars) == 8
    export_archive.write_out(tmp_path / "exported_mha_layer")
    assert capsys.readouterr().out.strip() == (
        f"Saved artifact at '{tmp_path / 'exported_mha_layer'}'. The following endpoints are "
        "available:\n\n* Endpoint 'call'\n  Args:\n"
        "    query: float32 Tensor, shape=(None, 2, 2)\n"
        "    value: float32 Tensor, shape=(None, 2, 2)\n"
        "  Returns:\n    float32 Tensor, shape=(None, 2, 2)\n\n"
        "Variable collections: 'my_vars' (8 variables)")

    revived = kiln.export.load(tmp_path / "exported_mha_layer")
    np.testing.assert_allclose(ref_output, revived.call(query=x1, value=x2).numpy(), atol=1e-6)
    np.testing.assert_allclose(ref_output, revived.call(x1, value=x2).numpy(), atol=1e-6)
    np.testing.assert_allclose(ref_output[:1], revived.call(x1[:1], x2[:1]).numpy(), atol=1e-6)
    assert len(revived.my_vars) == 8
    for saved, variable in zip(revived.my_vars, layer.weights):
        np.testing.assert_array_equal(saved.numpy(), variable.numpy())


def test_several_endpoints_and_a_plain_function(tmp_path):
    encoder = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(3, name="enc")])
    head = kiln.layers.Dense(1, name="head")
    x = np.random.rand(6, 4).astype("float32")
    head(encoder(x))

    def score(features):
        return head(encoder(features))

    archive = ExportArchive()
    archive.track(encoder)
    archive.track(head)
    archive.add_endpoint("encode", encoder)  # signature from the model's own inputs
    archive.add_endpoint("score", score, input_signature=[kiln.InputSpec(shape=(None, 4))])
    archive.write_out(tmp_path / "multi", verbose=False)
    revived = kiln.export.load(tmp_path / "multi")
    np.testing.assert_allclose(revived.encode(x).numpy(), np.asarray(encoder(x)), atol=1e-6)
    np.testing.assert_allclose(revived.score(features=x).numpy(), np.asarray(score(x)),
                               atol=1e-6)
    assert sorted(revived.endpoints) == ["encode", "score"]
    assert revived.default_endpoint == "encode"
    assert sorted(os.listdir(tmp_path / "multi")) == [
        "encode.pt2", "manifest.json", "score.pt2", "variables.safetensors"]


def test_track_and_add_endpoint(tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    archive = ExportArchive()
    archive.track_and_add_endpoint("serve", model, [kiln.InputSpec(shape=(None, 3))])
    archive.write_out(tmp_path / "a", verbose=False)
    x = torch.rand(2, 3)
    np.testing.assert_allclose(kiln.export.load(tmp_path / "a").serve(x).numpy(),
                               np.asarray(model(x)), atol=1e-6)


def test_archive_misuse_gives_clear_errors(tmp_path):
    layer = kiln.layers.Dense(2)
    with pytest.raises(ExportError, match="has not been built"):
        ExportArchive().track(layer)
    layer(np.zeros((1, 3), "float32"))
    archive = ExportArchive()
    with pytest.raises(ExportError, match="does not track"):
        archive.add_endpoint("serve", layer, [kiln.InputSpec(shape=(None, 3))])
    archive.track(layer)
    with pytest.raises(ExportError, match="`input_signature` is required"):
        archive.add_endpoint("f", lambda x: layer(x))
    with pytest.raises(ExportError, match="not allowed"):
        archive.add_endpoint("write_out", layer, [kiln.InputSpec(shape=(None, 3))])
    archive.add_endpoint("serve", layer, [kiln.InputSpec(shape=(None, 3))])
    with pytest.raises(ExportError, match="Endpoint name 'serve' is already taken"):
        archive.add_endpoint("serve", layer, [kiln.InputSpec(shape=(None, 3))])
    with pytest.raises(ExportError, match="may only hold kiln Variables or tensors"):
        archive.add_variable_collection("stuff", [1, 2])
    with pytest.raises(ExportError, match="No endpoints"):
        ExportArchive().write_out(tmp_path / "empty")
    assert not os.path.exists(tmp_path / "empty")
    with pytest.raises(ExportError, match="accepts kiln layers"):
        ExportArchive().track("a string")
