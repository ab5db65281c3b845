"""`model.export(format="torch")` + `kiln.export.load`: parity, dynamic batch, plain torch."""

import json
import os
import subprocess
import sys
import sysconfig

import numpy as np
import pytest
import torch

import kiln
from kiln.errors import FileFormatError


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def _functional_two_inputs():
    a = kiln.Input(shape=(4,), name="a")
    b = kiln.Input(shape=(3,), name="b")
    x = kiln.layers.Concatenate()([kiln.layers.Dense(5)(a), kiln.layers.Dense(5)(b)])
    return a, b, kiln.layers.Dense(2)(x)


def test_sequential_export_matches_model_at_batch_1_and_7(tmp_path, capsys):
    model = kiln.Sequential([kiln.Input((16,)), kiln.layers.Dense(8, activation="relu"),
                             kiln.layers.BatchNormalization(), kiln.layers.Dropout(0.5),
                             kiln.layers.Dense(1, activation="sigmoid")])
    x = np.random.rand(7, 16).astype("float32")
    expected = model.predict(x, verbose=0)
    capsys.readouterr()
    model.export(tmp_path / "seq")
    printed = capsys.readouterr().out
    assert printed.strip() == (
        f"Saved artifact at '{tmp_path / 'seq'}'. The following endpoints are available:\n\n"
        "* Endpoint 'serve'\n  Args:\n    args_0: float32 Tensor, shape=(None, 16)\n"
        "  Returns:\n    float32 Tensor, shape=(None, 1)")
    artifact = kiln.export.load(tmp_path / "seq")
    _close(artifact.serve(x), expected)
    _close(artifact.serve(x[:1]), expected[:1])
    _close(artifact(torch.from_numpy(x[:3])), expected[:3])  # the default endpoint
    assert sorted(os.listdir(tmp_path / "seq")) == ["manifest.json", "serve.pt2",
                                                   "variables.safetensors"]


def test_functional_list_inputs_default_flat_and_nested_signatures(tmp_path):
    a, b, out = _functional_two_inputs()
    model = kiln.Model([a, b], out)
    xa, xb = np.random.rand(7, 4).astype("float32"), np.random.rand(7, 3).astype("float32")
    expected = np.asarray(model([xa, xb]))
    specs = [kiln.InputSpec(shape=(None, 4)), kiln.InputSpec(shape=(None, 3))]
    for name, signature in (("default", None), ("flat", specs), ("nested", [specs])):
        model.export(tmp_path / name, input_signature=signature, verbose=False)
        artifact = kiln.export.load(tmp_path / name)
        _close(artifact.serve([xa, xb]), expected)
        _close(artifact.serve([xa[:1], xb[:1]]), expected[:1])


def test_functional_dict_inputs_and_dict_signature(tmp_path):
    a, b, out = _functional_two_inputs()
    model = kiln.Model({"a": a, "b": b}, out)
    feed = {"a": np.random.rand(7, 4).astype("float32"),
            "b": np.random.rand(7, 3).astype("float32")}
    expected = np.asarray(model(feed))
    model.export(tmp_path / "default", verbose=False)
    model.export(tmp_path / "explicit", verbose=False, input_signature=[{
        "a": kiln.InputSpec(shape=(None, 4)), "b": kiln.InputSpec(shape=(None, 3))}])
    for name in ("default", "explicit"):
        artifact = kiln.export.load(tmp_path / name)
        _close(artifact.serve(feed), expected)
        _close(artifact.serve({k: v[:1] for k, v in feed.items()}), expected[:1])
    assert "'a': float32 Tensor, shape=(None, 4)" in artifact.serve.signature


class _Subclassed(kiln.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = kiln.layers.Dense(6, activation="tanh")
        self.dropout = kiln.layers.Dropout(0.9)
        self.out = kiln.layers.Dense(3)

    def call(self, inputs, training=None):
        return self.out(self.dropout(self.hidden(inputs), training=training))


def test_subclassed_model_exports_in_inference_mode(tmp_path):
    model = _Subclassed()
    x = np.random.rand(7, 5).astype("float32")
    expected = np.asarray(model(x))  # inference: dropout is off
    model.export(tmp_path / "sub", verbose=False)
    artifact = kiln.export.load(tmp_path / "sub")
    _close(artifact.serve(x), expected)
    _close(artifact.serve(x[:1]), expected[:1])
    assert artifact.serve.inputs[0].shape == (None, 5)


def test_fixed_batch_signature_is_kept(tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    model.export(tmp_path / "fixed", verbose=False,
                 input_signature=[kiln.InputSpec(shape=(4, 3), dtype="float32")])
    artifact = kiln.export.load(tmp_path / "fixed")
    x = np.random.rand(4, 3).astype("float32")
    _close(artifact.serve(x), model(x))
    with pytest.raises(ValueError, match=r"shape \(5, 3\), expected \(4, 3\)"):
        artifact.serve(np.zeros((5, 3), "float32"))


def test_manifest_records_versions_signatures_and_checksums(tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="d")])
    model.export(tmp_path / "art", verbose=False)
    manifest = json.loads((tmp_path / "art" / "manifest.json").read_text())
    assert manifest["format"] == "kiln.torch-artifact" and manifest["format_version"] == 1
    assert manifest["torch_version"] == torch.__version__
    assert manifest["kiln_version"] == kiln.__version__
    serve = manifest["endpoints"]["serve"]
    assert serve["inputs"] == [{"tensor": {"shape": [None, 3], "dtype": "float32",
                                           "name": serve["inputs"][0]["tensor"]["name"]}}]
    assert serve["outputs"]["tensor"]["shape"] == [None, 2]
    assert sorted(serve["state"].values()) == sorted(manifest["variables"]["keys"])
    assert set(manifest["checksums"]) == {"serve.pt2", "variables.safetensors"}
    assert all(v.startswith("crc32:") for v in manifest["checksums"].values())


def test_damaged_program_is_refused(tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    model.export(tmp_path / "art", verbose=False)
    program = tmp_path / "art" / "serve.pt2"
    data = bytearray(program.read_bytes())
    data[len(data) // 2] ^= 0xFF
    program.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="Checksum mismatch for 'serve.pt2'"):
        kiln.export.load(tmp_path / "art")


# The documented way to run an artifact with PyTorch alone (docs/formats/torch-artifact.md).
_PLAIN_TORCH = """
import sys
sys.path.append({site!r})
try:
    import kiln
except ImportError:
    pass
else:
    raise SystemExit("kiln is importable in the plain-torch subprocess")
import numpy as np
import torch
serve = torch.export.load({program!r}).module()
outputs = serve(torch.from_numpy(np.load({inputs!r})))
np.testing.assert_allclose(outputs.detach().numpy(), np.load({expected!r}), rtol=1e-5, atol=1e-5)
print("plain torch ok", tuple(outputs.shape))
"""


def test_artifact_runs_with_plain_torch_without_kiln(tmp_path):
    model = kiln.Sequential([kiln.Input((16,)), kiln.layers.Dense(8, activation="relu"),
                             kiln.layers.Dense(1)])
    x = np.random.rand(5, 16).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.asarray(model(x)))
    model.export(tmp_path / "exported_model", verbose=False)
    code = _PLAIN_TORCH.format(site=sysconfig.get_paths()["purelib"],
                               program=str(tmp_path / "exported_model" / "serve.pt2"),
                               inputs=str(tmp_path / "x.npy"), expected=str(tmp_path / "y.npy"))
    # -I: ignore PYTHONPATH and the user site; -S: skip site-packages' .pth files, which is
    # where the editable install puts kiln's source folder on the path.
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "plain torch ok (5, 1)" in result.stdout


def test_pt2_path_writes_one_program_file_as_keras_does(tmp_path, capsys):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    model.export(tmp_path / "model.pt2")
    assert capsys.readouterr().out.strip() == \
        f"Saved PyTorch ExportedProgram at '{tmp_path / 'model.pt2'}'."
    assert os.listdir(tmp_path) == ["model.pt2"]
    x = torch.rand(4, 3)
    with torch.no_grad():
        out = torch.export.load(tmp_path / "model.pt2").module()(x)
    _close(out, model(x))
    with pytest.raises(FileFormatError, match=r"torch.export.load\(path\).module\(\)"):
        kiln.export.load(tmp_path / "model.pt2")
