import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(target_shape=(5, -1)), (2, 3, 4, 5)),
    (dict(target_shape=(10, 6)), (2, 3, 4, 5)),
    (dict(target_shape=(-1,)), (2, 3, 4)),
    (dict(target_shape=(2, 1, -1, 3)), (2, 12)),
])
def test_reshape_matches_keras(kwargs, shape):
    check_against_keras("Reshape", kwargs, shape)


def test_reshape_layer_harness_with_save_load():
    run_layer_test(kiln.layers.Reshape, init_kwargs={"target_shape": (-1, 2)},
                   input_shape=(2, 3, 4), expected_output_shape=(2, 6, 2),
                   expected_num_trainable_weights=0)


def test_reshape_symbolic_shapes_and_errors():
    layer = kiln.layers.Reshape((-1, 4))
    assert symbolic_output_shape(layer, (None, 3, 8)) == (None, 6, 4)
    assert layer.compute_output_shape((None, None, 8)) == (None, None, 4)
    with pytest.raises(ValueError, match="at most one -1"):
        kiln.layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="total size"):
        kiln.layers.Reshape((5, 5))(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="infer the -1"):
        kiln.layers.Reshape((5, -1))(np.ones((2, 3, 4), "float32"))
