"""`kiln.export.load`: endpoint call checks, hostile or damaged manifests."""

import json

import numpy as np
import pytest
import torch

import kiln
from kiln.errors import FileFormatError


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory):
    a = kiln.Input((4,), name="a")
    b = kiln.Input((2,), name="b")
    out = kiln.layers.Dense(1)(kiln.layers.Concatenate()([a, b]))
    path = tmp_path_factory.mktemp("loader") / "art"
    kiln.Model({"a": a, "b": b}, out).export(path, verbose=False)
    return path


def test_bad_calls_quote_the_signature(artifact_dir):
    serve = kiln.export.load(artifact_dir).serve
    good = {"a": np.zeros((3, 4), "float32"), "b": np.zeros((3, 2), "float32")}
    assert serve(good).shape == (3, 1)
    assert serve(args_0=good).shape == (3, 1)
    signature = r"serve\(args_0: \{'a': float32 Tensor, shape=\(None, 4\), 'b': float32 " \
                r"Tensor, shape=\(None, 2\)\}\) -> float32 Tensor, shape=\(None, 1\)"
    cases = [
        ((good, good), {}, "it takes 1 argument"),
        ((), {}, r"missing argument\(s\) \['args_0'\]"),
        ((), {"x": good}, "unexpected keyword argument 'x'"),
        (({"a": good["a"]},), {}, r"args_0 must be a dict with keys \['a', 'b'\]"),
        (({"a": good["a"], "b": np.zeros((3, 3))},), {}, r"args_0\['b'\] has shape \(3, 3\)"),
        (({"a": torch.zeros(3, 4, dtype=torch.float64), "b": good["b"]},), {},
         r"args_0\['a'\] has dtype float64, expected float32"),
        (({"a": np.zeros((3, 4), "int64"), "b": good["b"]},), {}, r"args_0\['a'\] has dtype int64"),
    ]
    for args, kwargs, problem in cases:
        with pytest.raises(ValueError, match=f"Invalid call to endpoint 'serve': {problem}.*"
                                             f"signature is {signature}"):
            serve(*args, **kwargs)
    # numpy float64 data is cast to the float32 input (np.random.random gives float64).
    assert serve({"a": np.random.random((2, 4)), "b": np.random.random((2, 2))}).shape == (2, 1)


def _rewrite_manifest(path, change):
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    change(manifest)
    manifest_path.write_text(json.dumps(manifest))


def test_manifest_naming_files_outside_the_artifact_is_refused(artifact_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(artifact_dir, copy)
    _rewrite_manifest(copy, lambda m: m["checksums"].update({"../secret": "crc32:00000000"}))
    with pytest.raises(FileFormatError, match="not a plain file name"):
        kiln.export.load(copy)


def test_newer_format_and_missing_files_are_refused(artifact_dir, tmp_path):
    import shutil

    newer = tmp_path / "newer"
    shutil.copytree(artifact_dir, newer)
    _rewrite_manifest(newer, lambda m: m.update(format_version=99))
    with pytest.raises(FileFormatError, match="format_version 99.*Upgrade kiln"):
        kiln.export.load(newer)
    partial = tmp_path / "partial"
    shutil.copytree(artifact_dir, partial)
    (partial / "variables.safetensors").unlink()
    with pytest.raises(FileFormatError,
                       match="lists .variables.safetensors., which the artifact lacks"):
        kiln.export.load(partial)


def test_wrong_kinds_of_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        kiln.export.load(tmp_path / "nothing")
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    with pytest.raises(FileFormatError, match="onnxruntime"):
        kiln.export.load(tmp_path / "m.onnx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileFormatError, match="not a kiln export artifact"):
        kiln.export.load(tmp_path / "empty")
