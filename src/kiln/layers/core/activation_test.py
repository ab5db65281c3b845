import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


@pytest.mark.parametrize("activation", ["relu", "softmax", "gelu", "tanh", None])
def test_matches_keras(activation):
    keras = oracle.keras()
    x = oracle.random((3, 5))
    ours = layers.Activation(activation, name="act")
    theirs = keras.layers.Activation(activation, name="act")
    oracle.assert_same_config(ours, theirs)
    oracle.assert_close(ours(x), theirs(x))


def test_harness_and_no_build_config():
    run_layer_test(layers.Activation, init_kwargs={"activation": "relu"}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0)
    layer = layers.Activation("relu")
    assert layer.built  # built at construction, so no build_config is written (as Keras)
    assert layer.get_build_config() is None


def test_unknown_activation_is_an_error():
    with pytest.raises(ValueError):
        layers.Activation("no_such_activation")
