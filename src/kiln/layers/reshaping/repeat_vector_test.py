import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("n", [1, 3])
def test_repeat_vector_matches_keras(n):
    check_against_keras("RepeatVector", {"n": n}, (2, 4))


def test_repeat_vector_layer_harness_with_save_load():
    run_layer_test(kiln.layers.RepeatVector, init_kwargs={"n": 3}, input_shape=(2, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0)


def test_repeat_vector_output_is_writable_memory_and_errors():
    out = kiln.layers.RepeatVector(2)(np.arange(4, dtype="float32").reshape(2, 2))
    assert out.is_contiguous()
    assert symbolic_output_shape(kiln.layers.RepeatVector(5), (None, 4)) == (None, 5, 4)
    with pytest.raises(TypeError, match="int"):
        kiln.layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        kiln.layers.RepeatVector(0)
