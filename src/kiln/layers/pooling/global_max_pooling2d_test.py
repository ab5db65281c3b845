import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs", [
    dict(), dict(keepdims=True), dict(keepdims=True, data_format="channels_first"),
])
def test_global_max_pooling2d_matches_keras(kwargs):
    check_against_keras("GlobalMaxPooling2D", kwargs, (2, 5, 4, 3))


def test_global_max_pooling2d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.GlobalMaxPooling2D, init_kwargs={},
                   input_shape=(2, 5, 4, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=0)
    layer = kiln.layers.GlobalMaxPool2D(keepdims=True)
    assert symbolic_output_shape(layer, (None, 5, 4, 3)) == (None, 1, 1, 3)
