"""kiln.initializers: configs equal to Keras 3.15's, values equal to Keras's for a given seed,
and the expected statistics."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import kiln  # noqa: E402
from kiln import initializers  # noqa: E402
from kiln.initializers.random_initializers import compute_fans  # noqa: E402

CONFIG_CASES = [
    ("Zeros", {}), ("Ones", {}), ("Constant", {}), ("Constant", {"value": 3}),
    ("Identity", {}), ("IdentityInitializer", {}),
    ("RandomNormal", {}), ("RandomNormal", {"mean": 1.0, "stddev": 2.0, "seed": 4}),
    ("RandomUniform", {"minval": -1, "maxval": 2}), ("TruncatedNormal", {"seed": 1}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "normal", "seed": 3}),
    ("VarianceScaling", {"distribution": "uniform", "input_axes": [0], "output_axes": [1]}),
    ("GlorotUniform", {}), ("GlorotNormal", {"seed": 2}), ("HeUniform", {}), ("HeNormal", {}),
    ("LecunUniform", {}), ("LecunNormal", {"seed": 0}),
    ("Orthogonal", {}), ("Orthogonal", {"gain": 2.0, "seed": 5}), ("OrthogonalInitializer", {}),
]


@pytest.mark.parametrize("name,kwargs", CONFIG_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIG_CASES)])
def test_config_equals_keras(name, kwargs):
    ours = getattr(initializers, name)(**kwargs)
    theirs = getattr(keras.initializers, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())
    # Keras builds the same initializer from kiln's config, and vice versa.
    assert getattr(keras.initializers, name).from_config(ours.get_config()).get_config() == theirs.get_config()
    assert type(ours).from_config(theirs.get_config()).get_config() == ours.get_config()


VALUE_CASES = [
    ("RandomNormal", {"mean": 0.5, "stddev": 2.0}, (4, 5)),
    ("RandomUniform", {"minval": -3.0, "maxval": 1.0}, (7,)),
    ("TruncatedNormal", {"stddev": 0.3}, (8, 9)),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "untruncated_normal"}, (3, 6)),
    ("VarianceScaling", {"input_axes": [0, 1], "output_axes": [2]}, (2, 3, 4)),
    ("GlorotUniform", {}, (5, 4)), ("GlorotNormal", {}, (3, 3, 2, 4)),
    ("HeUniform", {}, (6, 2)), ("HeNormal", {}, (10, 3)),
    ("LecunUniform", {}, (2, 9)), ("LecunNormal", {}, (4, 4)),
    ("Orthogonal", {"gain": 1.5}, (6, 3)), ("Orthogonal", {}, (3, 2, 5)),
    ("Identity", {"gain": 3.0}, (3, 4)), ("Constant", {"value": 0.25}, (2, 2)),
    ("Zeros", {}, (3,)), ("Ones", {}, (2, 1)),
]


@pytest.mark.parametrize("name,kwargs,shape", VALUE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(VALUE_CASES)])
def test_values_equal_keras_for_same_seed(name, kwargs, shape):
    seeded = name not in ("Identity", "Constant", "Zeros", "Ones")
    extra = {"seed": 1234} if seeded else {}
    ours = getattr(initializers, name)(**kwargs, **extra)(shape)
    theirs = getattr(keras.initializers, name)(**kwargs, **extra)(shape)
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,expected", [
    ((), (1, 1)), ((5,), (5, 5)), ((3, 7), (3, 7)), ((3, 3, 16, 32), (144, 288)), ((2, 4, 6, 8, 10), (384, 480)),
])
def test_compute_fans(shape, expected):
    assert compute_fans(shape) == expected


def test_statistics():
    n = 200_000
    w = initializers.GlorotUniform(seed=1)((400, 500)).numpy()
    limit = np.sqrt(6 / 900)
    assert np.abs(w).max() <= limit and abs(w.std() - limit / np.sqrt(3)) < 1e-3
    w = initializers.HeNormal(seed=2)((500, 400)).numpy()
    assert abs(w.mean()) < 1e-3 and abs(w.std() - np.sqrt(2 / 500)) < 2e-3
    assert np.abs(w).max() < 2 * np.sqrt(2 / 500) / 0.87962566103423978
    w = initializers.RandomNormal(mean=1.0, stddev=0.5, seed=3)((n,)).numpy()
    assert abs(w.mean() - 1.0) < 0.01 and abs(w.std() - 0.5) < 0.01
    w = initializers.RandomUniform(-2.0, 2.0, seed=4)((n,)).numpy()
    assert w.min() >= -2 and w.max() < 2 and abs(w.mean()) < 0.02
    w = initializers.TruncatedNormal(stddev=1.0, seed=5)((n,)).numpy()
    assert np.abs(w).max() < 2.0
    q = initializers.Orthogonal(seed=6)((3, 3, 4, 8)).reshape(-1, 8)
    torch.testing.assert_close(q.T @ q, torch.eye(8), atol=1e-5, rtol=0)


def test_seed_semantics():
    unseeded = initializers.RandomNormal()
    assert torch.equal(unseeded((3,)), unseeded((3,)))  # seed picked once, like Keras
    gen_init = initializers.RandomNormal(seed=kiln.random.SeedGenerator(1))
    assert not torch.equal(gen_init((3,)), gen_init((3,)))
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="abc")


def test_dtypes():
    assert initializers.GlorotUniform(seed=0)((2, 2), dtype="float64").dtype == torch.float64
    assert initializers.Zeros()((2,), dtype="int32").dtype == torch.int32
    assert initializers.Constant(2)((2,), dtype="int64").tolist() == [2, 2]


def test_validation_errors():
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_max")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="rank >= 2"):
        initializers.Orthogonal()((3,))
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity()((2, 2, 2))


def test_identity_gain_survives_config_when_not_default():
    init = initializers.Identity(gain=2.0)
    assert init.get_config() == {"gain": 2.0}
    assert torch.equal(initializers.Identity.from_config(init.get_config())((2, 2)), 2 * torch.eye(2))


def test_get_resolves_every_keras_name():
    keras_names = {n for n in dir(keras.initializers) if not n.startswith("_")}
    keras_names -= {"get", "serialize", "deserialize", "STFT", "STFTInitializer", "stft"}
    for name in keras_names:
        init = initializers.get(name)
        assert type(init).__name__ == type(getattr(keras.initializers, name)()).__name__, name
    for alias, cls in (("normal", "RandomNormal"), ("uniform", "RandomUniform"), ("one", "Ones"), ("zero", "Zeros")):
        assert type(initializers.get(alias)).__name__ == cls


def test_get_other_identifiers():
    assert initializers.get(None) is None
    assert isinstance(initializers.get(initializers.Ones), initializers.Ones)
    inst = initializers.HeNormal()
    assert initializers.get(inst) is inst
    fixed = initializers.get(np.arange(4.0).reshape(2, 2))
    assert fixed((2, 2)).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(ValueError, match="fixed array of shape"):
        fixed((4,))
    with pytest.raises(ValueError, match="Unknown initializer 'bogus'"):
        initializers.get("bogus")
    with pytest.raises(ValueError, match="Could not interpret"):
        initializers.get(3)


def test_all_objects_tables():
    assert initializers.ALL_OBJECTS["GlorotUniform"] is initializers.GlorotUniform
    assert initializers.ALL_OBJECTS["IdentityInitializer"] is initializers.Identity
    assert initializers.ALL_OBJECTS_DICT["glorot_uniform"] is initializers.GlorotUniform
    assert initializers.ALL_OBJECTS_DICT["variance_scaling"] is initializers.VarianceScaling


def test_works_as_a_variable_initializer():
    v = kiln.Variable(initializers.GlorotUniform(seed=0), shape=(3, 4))
    assert v.shape == (3, 4) and v.dtype == "float32"


@pytest.mark.parametrize("name,kwargs", CONFIG_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIG_CASES)])
def test_serialize_matches_keras_and_round_trips(name, kwargs):
    ours = getattr(initializers, name)(**kwargs)
    theirs = getattr(keras.initializers, name)(**kwargs)
    config = initializers.serialize(ours)
    expected = keras.initializers.serialize(theirs)
    # Keras writes the canonical class name for the compatibility aliases.
    assert config == expected
    assert initializers.deserialize(expected).get_config() == ours.get_config()
    assert initializers.get(expected).get_config() == ours.get_config()


def test_seed_generator_seed_serializes_like_keras():
    ours = initializers.GlorotUniform(seed=kiln.random.SeedGenerator(3, name="gen"))
    theirs = keras.initializers.GlorotUniform(seed=keras.random.SeedGenerator(3, name="gen"))
    assert initializers.serialize(ours) == keras.initializers.serialize(theirs)
