import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test

MASK = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], bool)


@pytest.mark.parametrize("kwargs, shape, call_kwargs", [
    (dict(), (2, 5, 3), {}),
    (dict(keepdims=True, data_format="channels_first"), (2, 5, 3), {}),
    (dict(), (2, 5, 3), {"mask": MASK}),
    (dict(keepdims=True, data_format="channels_first"), (2, 3, 5), {"mask": MASK}),
])
def test_global_average_pooling1d_matches_keras(kwargs, shape, call_kwargs):
    check_against_keras("GlobalAveragePooling1D", kwargs, shape, call_kwargs=call_kwargs)


def test_global_average_pooling1d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.GlobalAveragePooling1D, init_kwargs={},
                   input_shape=(2, 5, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=0)
    layer = kiln.layers.GlobalAvgPool1D(keepdims=True)
    assert symbolic_output_shape(layer, (None, 5, 3)) == (None, 1, 3)
