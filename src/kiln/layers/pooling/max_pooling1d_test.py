import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(), (2, 7, 3)),
    (dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    (dict(pool_size=2, strides=1, padding="same", data_format="channels_first"), (2, 3, 7)),
])
def test_max_pooling1d_matches_keras(kwargs, shape):
    check_against_keras("MaxPooling1D", kwargs, shape)


def test_max_pooling1d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.MaxPooling1D, init_kwargs={"pool_size": 3, "padding": "same"},
                   input_shape=(2, 7, 3), expected_output_shape=(2, 3, 3),
                   expected_num_trainable_weights=0)


def test_max_pooling1d_symbolic_shape():
    assert symbolic_output_shape(kiln.layers.MaxPool1D(2), (None, 9, 4)) == (None, 4, 4)
