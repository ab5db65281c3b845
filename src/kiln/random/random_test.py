"""kiln.random: determinism, statistics, and bit-equality with keras.random on torch."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import kiln  # noqa: E402
from kiln import random as krandom  # noqa: E402
from kiln.core.variable import symbolic_scope  # noqa: E402
from kiln.utils.random_seed import set_random_seed  # noqa: E402

SAME_AS_KERAS = [
    ("normal", ((3, 4),), {"mean": 1.0, "stddev": 2.0}),
    ("uniform", ((5,),), {"minval": -2.0, "maxval": 3.0}),
    ("uniform", ((),), {}),
    ("truncated_normal", ((50, 20),), {"stddev": 0.5}),
    ("randint", ((6,), 0, 10), {}),
    ("categorical", (np.log(np.array([[0.2, 0.8], [0.5, 0.5]], "float32")), 5), {}),
]


@pytest.mark.parametrize("name,args,kwargs", SAME_AS_KERAS, ids=[c[0] for c in SAME_AS_KERAS])
@pytest.mark.parametrize("seed", [0, 1337, 2**31 + 5])
def test_int_seed_matches_keras_bit_for_bit(name, args, kwargs, seed):
    got = getattr(krandom, name)(*args, seed=seed, **kwargs)
    want = getattr(keras.random, name)(*args, seed=seed, **kwargs)
    assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
    assert torch.equal(got, want)


def test_seed_generator_sequence_matches_keras():
    ours, theirs = krandom.SeedGenerator(42), keras.random.SeedGenerator(42)
    for _ in range(3):
        assert torch.equal(krandom.normal((4,), seed=ours), keras.random.normal((4,), seed=theirs))
    np.testing.assert_array_equal(ours.state.numpy(), keras.ops.convert_to_numpy(theirs.state.value))


def test_dropout_and_shuffle_match_keras_with_int_seed():
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    assert torch.equal(krandom.dropout(x, 0.3, seed=5), keras.random.dropout(x, 0.3, seed=5))
    assert torch.equal(krandom.dropout(x, 0.5, noise_shape=(None, 1), seed=3),
                       keras.random.dropout(x, 0.5, noise_shape=(None, 1), seed=3))
    for axis in (0, 1):
        assert torch.equal(krandom.shuffle(x, axis=axis, seed=9), keras.random.shuffle(x, axis=axis, seed=9))


def test_seed_generator_state_is_an_int32_variable_that_advances():
    gen = krandom.SeedGenerator(seed=7)
    assert isinstance(gen.state, kiln.Variable)
    assert gen.state.shape == (2,) and gen.state.dtype == "int32" and not gen.state.trainable
    assert gen.state.numpy().tolist() == [7, 0]
    first = gen.next()
    assert first.tolist() == [7, 0] and gen.state.numpy().tolist() == [7, 1]
    assert gen.get_config() == {"seed": 7, "name": gen.name}
    clone = krandom.SeedGenerator.from_config(gen.get_config())
    assert clone.state.numpy().tolist() == [7, 0]


def test_seed_generator_rejects_bad_seed():
    with pytest.raises(ValueError, match="integer seed"):
        krandom.SeedGenerator(seed="1")
    with pytest.raises(ValueError, match="must be an integer"):
        krandom.normal((2,), seed=1.5)


def test_generator_draws_differ_and_replay():
    gen = krandom.SeedGenerator(3)
    a, b = krandom.uniform((8,), seed=gen), krandom.uniform((8,), seed=gen)
    assert not torch.equal(a, b)
    gen2 = krandom.SeedGenerator(3)
    assert torch.equal(a, krandom.uniform((8,), seed=gen2))


def test_set_random_seed_makes_unseeded_ops_reproducible():
    set_random_seed(123)
    a = krandom.normal((5,))
    b = krandom.normal((5,))
    d = krandom.dropout(torch.ones(100), 0.5)
    set_random_seed(123)
    assert torch.equal(a, krandom.normal((5,)))
    assert torch.equal(b, krandom.normal((5,)))
    assert torch.equal(d, krandom.dropout(torch.ones(100), 0.5))
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match="integer seed"):
        set_random_seed("x")


def test_statistics():
    n = krandom.normal((200_000,), mean=2.0, stddev=3.0, seed=1)
    assert abs(n.mean().item() - 2.0) < 0.05 and abs(n.std().item() - 3.0) < 0.05
    u = krandom.uniform((200_000,), minval=-1.0, maxval=3.0, seed=2)
    assert u.min().item() >= -1.0 and u.max().item() < 3.0 and abs(u.mean().item() - 1.0) < 0.02
    t = krandom.truncated_normal((1_000_000,), mean=1.0, stddev=2.0, seed=4)
    assert t.min().item() > -3.0 and t.max().item() < 5.0
    # A N(0, 1) truncated to (-2, 2) has standard deviation 0.8796.
    assert abs(t.std().item() / 2.0 - 0.8796) < 0.01
    r = krandom.randint((10_000,), 3, 7, seed=1)
    assert r.dtype == torch.int32 and set(r.unique().tolist()) == {3, 4, 5, 6}
    d = krandom.dropout(torch.ones(100_000), 0.25, seed=1)
    assert abs((d == 0).float().mean().item() - 0.25) < 0.01
    np.testing.assert_allclose(d.unique().numpy(), [0.0, 1 / 0.75], rtol=1e-6)


def test_dtype_validation_and_edge_rates():
    with pytest.raises(ValueError, match="floating dtype"):
        krandom.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer dtype"):
        krandom.randint((2,), 0, 3, dtype="float32")
    x = torch.ones(3)
    assert torch.equal(krandom.dropout(x, 0.0), x)
    assert torch.equal(krandom.dropout(x, 1.0), torch.zeros(3))
    assert krandom.normal((2,), dtype="float64", seed=1).dtype == torch.float64


def test_gamma_binomial_beta_are_seeded():
    for fn, args in ((krandom.gamma, (2.0,)), (krandom.binomial, (10, 0.3)), (krandom.beta, (2.0, 3.0))):
        a = fn((1000,), *args, seed=11)
        assert torch.equal(a, fn((1000,), *args, seed=11))
    g = krandom.gamma((100_000,), 3.0, seed=1)
    assert abs(g.mean().item() - 3.0) < 0.05
    b = krandom.beta((100_000,), 2.0, 3.0, seed=1)
    assert abs(b.mean().item() - 0.4) < 0.01


def test_symbolic_scope_draws_nothing():
    gen = krandom.SeedGenerator(5)
    with symbolic_scope():
        out = krandom.normal((2, 3), seed=gen)
        t = krandom.truncated_normal((2,), seed=gen)
    assert out.device.type == "meta" and t.device.type == "meta"
    assert gen.state.numpy().tolist() == [5, 0]
