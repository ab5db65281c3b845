"""Signature helpers: spec conversion, default signatures, JSON form, argument names."""

import numpy as np
import pytest
import torch

import kiln
from kiln.errors import ExportError
from kiln.export import signatures


def test_normalize_wraps_single_specs_and_converts_arrays():
    spec = kiln.InputSpec(shape=(None, 3))
    assert signatures.normalize(spec)[0].shape == (None, 3)
    (arg,) = signatures.normalize({"a": spec})
    assert arg["a"].dtype == "float32"
    (fixed,) = signatures.normalize([np.zeros((2, 3))])
    assert fixed.shape == (2, 3) and fixed.dtype == "float32"  # numpy float64 -> float32
    (ints,) = signatures.normalize([torch.zeros(2, dtype=torch.int32)])
    assert ints.dtype == "int32"
    with pytest.raises(ExportError, match="has no shape"):
        signatures.normalize([kiln.InputSpec(ndim=2)])
    with pytest.raises(ExportError, match="expected `kiln.InputSpec`s"):
        signatures.normalize(["x"])


def test_default_signatures_have_a_dynamic_batch():
    inputs = {"a": kiln.Input((2,), name="a"), "b": kiln.Input((3, 4), dtype="int32", name="b")}
    model = kiln.Model(inputs, kiln.layers.Dense(1)(inputs["a"]))
    (arg,) = signatures.default_signature(model)
    assert {k: (s.shape, s.dtype, s.name) for k, s in arg.items()} == {
        "a": ((None, 2), "float32", "a"), "b": ((None, 3, 4), "int32", "b")}

    class Net(kiln.Model):
        def call(self, x):
            return x * 2

    net = Net()
    net(np.ones((5, 7), "float32"))
    (spec,) = signatures.default_signature(net)
    assert spec.shape == (None, 7)


def test_json_round_trip_keeps_structure():
    structure = [{"a": kiln.InputSpec(shape=(None, 2), name="a"),
                  "b": (kiln.InputSpec(shape=(3,), dtype="int64"),)}]
    data = signatures.to_json(structure)
    back = signatures.from_json(data)
    assert isinstance(back, list) and isinstance(back[0]["b"], tuple)
    assert back[0]["a"].shape == (None, 2) and back[0]["a"].name == "a"
    assert back[0]["b"][0].dtype == "int64"
    with pytest.raises(ValueError, match="unknown signature tag"):
        signatures.from_json({"pickle": 1})


def test_argument_names():
    def fn(query, value, key=None):
        return query

    assert signatures.arg_names(fn, 2) == ["query", "value"]
    assert signatures.arg_names(lambda *xs: xs, 2) == ["args_0", "args_1"]
    layer = kiln.layers.Dense(2)
    assert signatures.arg_names(layer, 1) == ["args_0"]  # Keras names model inputs args_i
    assert signatures.arg_names(layer.call, 1) == ["inputs"]


def test_dynamic_shapes_and_samples():
    sig = signatures.normalize([kiln.InputSpec(shape=(None, None, 3)),
                                kiln.InputSpec(shape=(2,), dtype="int32")])
    first, second = signatures.sample_args(sig)
    assert tuple(first.shape) == (signatures.SAMPLE_BATCH, signatures.SAMPLE_DIM, 3)
    assert second.dtype == torch.int32 and tuple(second.shape) == (2,)
    dims = signatures.dynamic_shapes(sig)
    assert set(dims[0]) == {0, 1} and dims[1] is None
    assert "float32 Tensor, shape=(None, None, 3)" == signatures.describe_spec(sig[0])
    assert "int32 Tensor, shape=(2,)" == signatures.describe_spec(sig[1])
