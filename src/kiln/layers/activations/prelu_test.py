import numpy as np
import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2], 2])
def test_matches_keras(shared_axes):
    keras = oracle.keras()
    kwargs = {"shared_axes": shared_axes, "alpha_initializer": "ones", "name": "p"}
    ours, theirs = layers.PReLU(**kwargs), keras.layers.PReLU(**kwargs)
    oracle.assert_same_config(ours, theirs)
    shape = (2, 3, 4, 5)
    ours.build(shape)
    theirs.build(shape)
    oracle.assert_same_weights_layout(ours, theirs)
    rng = np.random.default_rng(1)
    theirs.set_weights([rng.uniform(0, 1, w.shape).astype("float32")
                        for w in theirs.get_weights()])
    oracle.copy_weights(ours, theirs)
    x = oracle.random(shape)
    oracle.assert_close(ours(x), theirs(x))


def test_harness_and_input_spec():
    run_layer_test(layers.PReLU, init_kwargs={"shared_axes": [1]}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=1)
    layer = layers.PReLU(shared_axes=[1])
    layer(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="axis 2"):
        layer(np.ones((2, 3, 5), "float32"))
