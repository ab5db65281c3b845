import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def test_matches_keras():
    keras = oracle.keras()
    ours = layers.LeakyReLU(negative_slope=0.1, name="l")
    theirs = keras.layers.LeakyReLU(negative_slope=0.1, name="l")
    oracle.assert_same_config(ours, theirs)
    x = oracle.random((3, 4))
    oracle.assert_close(ours(x), theirs(x))
    oracle.assert_same_config(layers.LeakyReLU(name="d"), keras.layers.LeakyReLU(name="d"))


def test_deprecated_alpha_is_accepted_like_keras():
    keras = oracle.keras()
    with pytest.warns(UserWarning, match="alpha"):
        ours = layers.LeakyReLU(alpha=0.2, name="l")
    with pytest.warns(UserWarning):
        theirs = keras.layers.LeakyReLU(alpha=0.2, name="l")
    oracle.assert_same_config(ours, theirs)
    assert ours.get_config()["negative_slope"] == 0.2


def test_harness_and_validation():
    run_layer_test(layers.LeakyReLU, init_kwargs={"negative_slope": 0.5}, input_shape=(2, 3),
                   expected_output_shape=(2, 3))
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=-1)
