import functools

import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.layers.pooling import _reference
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(pool_size=2), (2, 7, 3)),
    (dict(pool_size=3, strides=2, padding="same"), (2, 7, 3)),
    (dict(pool_size=3, padding="same", data_format="channels_first"), (2, 3, 7)),
    (dict(pool_size=2, strides=1, padding="same"), (2, 6, 3)),
])
def test_average_pooling1d_matches_keras(kwargs, shape):
    check_against_keras("AveragePooling1D", kwargs, shape)


def test_average_pooling1d_asymmetric_same_padding_does_not_count_padded_cells():
    # pool 4 / stride 3 on 8 steps pads (1, 2): Keras's torch backend counts replicated
    # edge cells there; Keras's definition (TensorFlow/JAX) and kiln do not.
    kwargs = dict(pool_size=4, strides=3, padding="same")
    expected = functools.partial(_reference.pool, pool_size=(4,), strides=(3,), padding="same",
                                 mode="average")
    check_against_keras("AveragePooling1D", kwargs, (2, 8, 3), expected=expected)


def test_average_pooling1d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.AveragePooling1D, init_kwargs={"pool_size": 2},
                   input_shape=(2, 7, 3), expected_output_shape=(2, 3, 3),
                   expected_num_trainable_weights=0)


def test_average_pooling1d_symbolic_shape():
    layer = kiln.layers.AveragePooling1D(3, strides=2, padding="same")
    assert symbolic_output_shape(layer, (None, 10, 4)) == (None, 5, 4)
