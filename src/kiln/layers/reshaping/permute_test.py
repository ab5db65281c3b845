import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(dims=(2, 1)), (2, 3, 4)),
    (dict(dims=(3, 1, 2)), (2, 3, 4, 5)),
])
def test_permute_matches_keras(kwargs, shape):
    check_against_keras("Permute", kwargs, shape)


def test_permute_layer_harness_with_save_load():
    run_layer_test(kiln.layers.Permute, init_kwargs={"dims": (2, 1)}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 4, 3), expected_num_trainable_weights=0)


def test_permute_symbolic_shape_and_errors():
    assert symbolic_output_shape(kiln.layers.Permute((2, 1)), (None, 3, 4)) == (None, 4, 3)
    with pytest.raises(ValueError, match="permutation"):
        kiln.layers.Permute((0, 1))
    with pytest.raises(ValueError, match="ndim=3"):
        kiln.layers.Permute((2, 1))(np.ones((2, 3, 4, 5), "float32"))
