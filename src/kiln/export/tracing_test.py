"""Export failures: each names the layer or input and the fix, and leaves no artifact."""

import os

import numpy as np
import pytest

import kiln
from kiln.errors import ExportError


def _left_over(tmp_path):
    return sorted(os.listdir(tmp_path))


class _DataDependent(kiln.layers.Layer):
    def call(self, x):
        if kiln.ops.sum(x) > 0:  # a Python branch on a tensor's value
            return x
        return -x


class _BatchAsInt(kiln.layers.Layer):
    def call(self, x):
        return x.reshape(int(x.shape[0]) * 2, -1)


def test_unbuilt_model(tmp_path):
    model = kiln.Sequential([kiln.layers.Dense(2)])
    with pytest.raises(ExportError, match="Model 'sequential.*' has not been built.*Call it on"):
        model.export(tmp_path / "art")
    assert _left_over(tmp_path) == []


def test_data_dependent_control_flow_names_the_layer(tmp_path):
    inputs = kiln.Input((3,))
    outputs = _DataDependent(name="gate")(kiln.layers.Dense(3)(inputs))
    model = kiln.Model(inputs, outputs)
    with pytest.raises(ExportError) as info:
        model.export(tmp_path / "art")
    message = str(info.value)
    assert "layer 'gate' (_DataDependent.call" in message
    assert "tracing_test.py" in message  # the line of the offending code
    assert "kiln.ops.where" in message
    assert _left_over(tmp_path) == []


def test_failed_export_keeps_the_previous_artifact(tmp_path):
    good = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    x = np.random.rand(2, 3).astype("float32")
    good.export(tmp_path / "art", verbose=False)
    inputs = kiln.Input((3,))
    bad = kiln.Model(inputs, _DataDependent()(inputs))
    with pytest.raises(ExportError):
        bad.export(tmp_path / "art")
    assert _left_over(tmp_path) == ["art"]
    np.testing.assert_allclose(kiln.export.load(tmp_path / "art").serve(x).numpy(),
                               np.asarray(good(x)), atol=1e-6)


def test_signature_mismatch_names_the_input(tmp_path):
    inputs = kiln.Input((4,), name="pixels")
    model = kiln.Model(inputs, kiln.layers.Dense(2)(inputs))
    with pytest.raises(ExportError, match=r"input 'pixels' expects float32 shape=\(None, 4\); "
                                          r"the signature gives float32 shape=\(None, 5\)"):
        model.export(tmp_path / "art", input_signature=[kiln.InputSpec(shape=(None, 5))])
    with pytest.raises(ExportError, match=r"has 2 spec\(s\) but model .* has 1 input"):
        model.export(tmp_path / "art", input_signature=[[kiln.InputSpec(shape=(None, 4)),
                                                         kiln.InputSpec(shape=(None, 4))]])
    assert _left_over(tmp_path) == []


def test_signature_mismatch_in_a_subclassed_model_names_the_layer(tmp_path):
    class Net(kiln.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = kiln.layers.Dense(2, name="proj")

        def call(self, x):
            return self.proj(x)

    model = Net()
    model(np.ones((2, 3), "float32"))
    with pytest.raises(ExportError) as info:
        model.export(tmp_path / "art", input_signature=[kiln.InputSpec(shape=(None, 5))])
    message = str(info.value)
    assert "Net.call" in message and "layer 'proj'" in message
    assert "input_signature matches" in message
    assert _left_over(tmp_path) == []


def test_batch_used_as_a_python_int_names_the_layer(tmp_path):
    inputs = kiln.Input((4,))
    model = kiln.Model(inputs, _BatchAsInt(name="flattener")(inputs))
    with pytest.raises(ExportError, match="dynamic batch dimension: layer 'flattener'"):
        model.export(tmp_path / "art")
    # Fixing the batch in the signature is the documented way out.
    model.export(tmp_path / "art", verbose=False,
                 input_signature=[kiln.InputSpec(shape=(2, 4))])
    assert kiln.export.load(tmp_path / "art").serve(np.ones((2, 4))).shape == (4, 2)


def test_unknown_and_tensorflow_formats(tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"Unrecognized format='zip'. Supported formats are: "
                                         r"\['torch', 'onnx'\]"):
        model.export(tmp_path / "art", format="zip")
    with pytest.raises(ExportError, match="format='torch'"):
        model.export(tmp_path / "art", format="tf_saved_model")
    with pytest.raises(ExportError, match="Unsupported arguments for format='torch'"):
        model.export(tmp_path / "art", strict=True)
    assert _left_over(tmp_path) == []


def test_never_replaces_a_directory_that_is_not_an_artifact(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"meow")
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    with pytest.raises(ExportError, match="does not hold an export artifact"):
        model.export(tmp_path / "photos")
    with pytest.raises(FileExistsError, match="does not hold a saved model"):
        model.save(tmp_path / "photos")
    assert os.listdir(tmp_path / "photos") == ["cat.jpg"]
