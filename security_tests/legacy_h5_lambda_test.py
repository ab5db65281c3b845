"""Hostile legacy `.h5` files: Lambda bytecode in safe mode, and HDF5 structures that escape.

A legacy file's `model_config` can carry a `Lambda` whose function is marshalled Python
bytecode (tf.keras wrote `function: [code_b64, defaults, closure]` with
`function_type: "lambda"`; Keras 3 writes a `__lambda__` dict). Loading must refuse it in
safe mode before any bytecode is decoded, wherever the Lambda sits in the config.
"""

import base64
import json
import marshal

import h5py
import numpy as np
import pytest

import kiln
from kiln.errors import UnsafeDeserializationError, UnsafeFileError
from kiln.saving import serialization_safety


def _payload(sandbox):
    """Bytecode that would leave a file behind if it ever ran."""
    target = str(sandbox.outside / "pwned")

    def evil(x, _target=target):
        open(_target, "w").write("ran")
        return x

    return base64.encodebytes(marshal.dumps(evil.__code__)).decode("ascii")


def _lambda_entry(function, **extra):
    config = {"name": "lam", "trainable": True, "dtype": "float32", "function": function,
              "function_type": "lambda", "module": "__main__", "output_shape": None,
              "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}
    config.update(extra)
    return {"class_name": "Lambda", "config": config}


def _input(name="inp"):
    return {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3],
                                                   "dtype": "float32", "name": name}}


def _write(path, model_config, layer_names=("lam",)):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        for name in layer_names:
            group.create_group(name).attrs["weight_names"] = np.zeros((0,))
    return path


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("bytecode was decoded although safe mode is on")

    class NoMarshal:
        loads = staticmethod(refuse)

    monkeypatch.setattr(serialization_safety, "decode_lambda", refuse)
    monkeypatch.setattr(serialization_safety, "marshal", NoMarshal)


def _configs(code):
    sequential = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        _input(), _lambda_entry([code, None, None])]}}
    keras3_form = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        _input(), _lambda_entry({"class_name": "__lambda__", "config": {
            "code": code, "defaults": None, "closure": None}})]}}
    output_shape = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        _input(), _lambda_entry("linear", function_type="function",
                                output_shape=[code, None, None], output_shape_type="lambda")]}}
    nested_inner = {"class_name": "Sequential", "config": {"name": "inner", "layers": [
        _input("inner_in"), _lambda_entry([code, None, None])]}}
    nested = {"class_name": "Functional", "config": {
        "name": "outer", "layers": [
            {**_input(), "name": "inp", "inbound_nodes": []},
            {**nested_inner, "name": "inner", "inbound_nodes": [[["inp", 0, 0, {}]]]}],
        "input_layers": [["inp", 0, 0]], "output_layers": [["inner", 0, 0]]}}
    return {"keras2_list": (sequential, ("lam",)), "keras3_dict": (keras3_form, ("lam",)),
            "output_shape": (output_shape, ("lam",)), "nested": (nested, ("inp", "inner"))}


@pytest.mark.parametrize("case", ["keras2_list", "keras3_dict", "output_shape", "nested"])
@pytest.mark.parametrize("how", ["default", "explicit"])
def test_lambda_bytecode_is_refused_in_safe_mode(sandbox, no_decoding, case, how):
    config, names = _configs(_payload(sandbox))[case]
    path = _write(sandbox.work / "evil.h5", config, names)
    kwargs = {} if how == "default" else {"safe_mode": True}
    with pytest.raises(UnsafeDeserializationError, match="safe_mode=False"):
        kiln.saving.load_model(path, compile=False, **kwargs)
    with pytest.raises(UnsafeDeserializationError):
        kiln.models.load_model(str(path), **kwargs)
    assert not (sandbox.outside / "pwned").exists()


def test_file_fields_cannot_turn_safe_mode_off(sandbox, no_decoding):
    config, names = _configs(_payload(sandbox))["keras2_list"]
    config["config"]["safe_mode"] = False
    config["config"]["layers"][1]["config"]["safe_mode"] = False
    path = _write(sandbox.work / "evil.h5", config, names)
    with pytest.raises(UnsafeDeserializationError):
        kiln.saving.load_model(path, compile=False)
    assert not (sandbox.outside / "pwned").exists()


def _model_file(path):
    inp = kiln.Input((3,), name="inp")
    kiln.Model(inp, kiln.layers.Dense(2, name="d")(inp)).save(path)
    return path


def _refused_both_ways(path, match):
    with pytest.raises(UnsafeFileError, match=match):
        kiln.saving.load_model(path, compile=False)
    inp = kiln.Input((3,), name="inp")
    model = kiln.Model(inp, kiln.layers.Dense(2, name="d")(inp))
    with pytest.raises(UnsafeFileError, match=match):
        model.load_weights(path)


def test_external_link_in_model_weights_is_refused(sandbox):
    secret = sandbox.outside / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["kernel"] = np.ones((3, 2), np.float32)
    path = _model_file(sandbox.work / "m.h5")
    sandbox.freeze()
    with h5py.File(path, "a") as f:
        del f["model_weights/d/d/kernel"]
        f["model_weights/d/d/kernel"] = h5py.ExternalLink(str(secret), "/kernel")
    _refused_both_ways(path, "external link")


def test_soft_link_in_model_weights_is_refused(sandbox):
    path = _model_file(sandbox.work / "m.h5")
    with h5py.File(path, "a") as f:
        f["model_weights/alias"] = h5py.SoftLink("/model_weights/d")
    _refused_both_ways(path, "soft link")


def test_virtual_dataset_is_refused(sandbox):
    source = sandbox.outside / "source.h5"
    with h5py.File(source, "w") as f:
        f["data"] = np.ones(2, np.float32)
    path = _model_file(sandbox.work / "m.h5")
    sandbox.freeze()
    with h5py.File(path, "a") as f:
        del f["model_weights/d/d/bias"]
        layout = h5py.VirtualLayout(shape=(2,), dtype="f4")
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(2,))
        f["model_weights/d/d"].create_virtual_dataset("bias", layout)
    _refused_both_ways(path, "virtual dataset")


def test_shape_bomb_is_refused(sandbox):
    path = _model_file(sandbox.work / "m.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/d/d/kernel"]
        f["model_weights/d/d"].create_dataset("kernel", shape=(1_000_000, 1_000_000), dtype="f4")
    _refused_both_ways(path, "shape bomb")
