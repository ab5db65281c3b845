"""kiln.constraints against keras.constraints: configs, values and name lookup."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from kiln import constraints  # noqa: E402

W = (np.random.default_rng(5).standard_normal((3, 3, 4, 6)) * 2).astype("float32")
W2 = W.reshape(36, 6)

CASES = [
    ("MaxNorm", {}, W2), ("MaxNorm", {"max_value": 0.5, "axis": 1}, W2),
    ("MaxNorm", {"max_value": 3, "axis": [0, 1, 2]}, W),
    ("NonNeg", {}, W2), ("UnitNorm", {}, W2), ("UnitNorm", {"axis": [0, 1, 2]}, W),
    ("MinMaxNorm", {}, W2), ("MinMaxNorm", {"min_value": 2.0, "max_value": 4.0, "rate": 0.5, "axis": 1}, W2),
    ("Constraint", {}, W2),
]


@pytest.mark.parametrize("name,kwargs,w", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_config_and_value_equal_keras(name, kwargs, w):
    ours = getattr(constraints, name)(**kwargs)
    theirs = getattr(keras.constraints, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())
    got = ours(torch.from_numpy(w))
    want = keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)
    assert type(ours).from_config(theirs.get_config()).get_config() == ours.get_config()


def test_max_norm_caps_and_keeps_small_columns():
    out = constraints.MaxNorm(max_value=1.0)(W2)
    norms = np.linalg.norm(out.numpy(), axis=0)
    assert (norms <= 1.0 + 1e-6).all()
    small = np.full((4, 2), 0.1, "float32")
    np.testing.assert_allclose(constraints.MaxNorm(1.0)(small).numpy(), small, rtol=1e-5)


@pytest.mark.parametrize("name", ["max_norm", "non_neg", "unit_norm", "min_max_norm", "MaxNorm", "UnitNorm"])
def test_get_by_name_matches_keras(name):
    ours, theirs = constraints.get(name), keras.constraints.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == theirs.get_config()


def test_get_other_identifiers_and_errors():
    assert constraints.get(None) is None
    inst = constraints.NonNeg()
    assert constraints.get(inst) is inst
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)
    with pytest.raises(ValueError, match="Unknown constraint 'positive'"):
        constraints.get("positive")
    with pytest.raises(ValueError, match="Could not interpret"):
        constraints.get(1.5)
    assert constraints.ALL_OBJECTS_DICT["non_neg"] is constraints.NonNeg
    assert constraints.ALL_OBJECTS["MinMaxNorm"] is constraints.MinMaxNorm


@pytest.mark.parametrize("name,kwargs,w", CASES[:-1], ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES[:-1])])
def test_serialize_matches_keras_and_round_trips(name, kwargs, w):
    ours = getattr(constraints, name)(**kwargs)
    config = constraints.serialize(ours)
    assert config == keras.constraints.serialize(getattr(keras.constraints, name)(**kwargs))
    assert constraints.deserialize(config).get_config() == ours.get_config()
    assert type(constraints.get(config)) is type(ours)
