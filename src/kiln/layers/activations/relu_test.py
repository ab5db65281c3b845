import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.2},
                                    {"threshold": 0.5, "negative_slope": 0.1, "max_value": 2.0}])
def test_matches_keras(kwargs):
    keras = oracle.keras()
    ours, theirs = layers.ReLU(name="r", **kwargs), keras.layers.ReLU(name="r", **kwargs)
    oracle.assert_same_config(ours, theirs)
    x = oracle.random((4, 6)) * 3
    oracle.assert_close(ours(x), theirs(x))


def test_harness():
    run_layer_test(layers.ReLU, init_kwargs={"max_value": 6.0}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0)


@pytest.mark.parametrize("kwargs,word", [({"max_value": -1.0}, "max_value"),
                                         ({"negative_slope": -0.1}, "negative_slope"),
                                         ({"threshold": None}, "threshold")])
def test_invalid_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        layers.ReLU(**kwargs)
