"""kiln.activations against keras.activations (torch backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from kiln import activations  # noqa: E402

X = (np.random.default_rng(3).standard_normal((4, 6)) * 4).astype("float32")
X[0, :3] = [0.0, 2.0, 6.0]  # exact threshold and cap values

CASES = [
    *[(name, {}) for name in sorted(activations.ALL_OBJECTS_DICT)
      if name not in ("threshold", "sparsemax")],
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 3.0}),
    ("relu", {"threshold": 2.0}),
    ("relu", {"negative_slope": 0.3, "max_value": 5.0, "threshold": 1.0}),
    ("relu", {"negative_slope": 0.3, "threshold": -1.0}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("elu", {"alpha": 0.3}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": True}),
    ("softmax", {"axis": 0}),
    ("log_softmax", {"axis": 0}),
    ("soft_shrink", {"threshold": 1.0}),
    ("hard_shrink", {"threshold": 1.0}),
    ("squareplus", {"b": 1}),
    ("threshold", {"threshold": 0.5, "default_value": -2.0}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_keras(name, kwargs):
    got = getattr(activations, name)(X, **kwargs)
    want = getattr(keras.activations, name)(X, **kwargs)
    assert isinstance(got, torch.Tensor) or name == "linear"  # linear returns x itself
    np.testing.assert_allclose(np.asarray(got), keras.ops.convert_to_numpy(want), rtol=1e-6, atol=1e-6)


def test_sparsemax_rows_sum_to_one():
    # keras.activations.sparsemax on torch (3.15.1) does not return a distribution; see ops tests.
    out = activations.sparsemax(X).numpy()
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    assert (out >= 0).all()


def test_keras_has_no_activation_we_lack():
    keras_names = {n for n in dir(keras.activations) if not n.startswith("_")}
    keras_names -= {"get", "serialize", "deserialize"}
    assert keras_names <= set(activations.ALL_OBJECTS_DICT)


def test_gelu_defaults_to_exact_like_keras_activations():
    x = np.array([0.7], "float32")
    assert activations.gelu(x).item() == pytest.approx(
        keras.ops.convert_to_numpy(keras.activations.gelu(x)).item(), abs=1e-7)


def test_get_and_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        activations.get("nope")
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get(3)
    for name, fn in activations.ALL_OBJECTS.items():
        assert activations.serialize(fn) == name
        assert activations.deserialize(name) is fn
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.relu) == keras.activations.serialize(keras.activations.relu)


def test_softmax_and_sigmoid_remember_logits():
    x = torch.tensor([[1.0, 2.0]])
    assert activations.softmax(x)._keras_logits is x
    assert activations.sigmoid(x)._keras_logits is x


def test_relu_keeps_integer_dtype_and_accepts_variables():
    import kiln

    assert activations.relu(np.array([-1, 3], "int32")).dtype == torch.int32
    v = kiln.Variable(np.array([-1.0, 2.0], "float32"))
    assert activations.relu(v).tolist() == [0.0, 2.0]


def test_custom_activation_serializes_through_kiln_saving():
    def scaled(x):
        return 2 * x

    config = activations.serialize(scaled)
    assert config["class_name"] == "function" and config["config"] == "scaled"
    assert activations.deserialize(config, custom_objects={"scaled": scaled}) is scaled


def test_keras_written_builtin_names_resolve():
    for fn in (keras.activations.relu, keras.activations.swish, keras.activations.hard_swish):
        name = keras.activations.serialize(fn)
        assert activations.serialize(activations.get(name)) == name
