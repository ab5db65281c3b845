import functools

import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.layers.pooling import _reference
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(pool_size=2), (2, 7, 6, 3)),
    (dict(pool_size=2, strides=1, padding="same"), (2, 7, 6, 3)),
    (dict(pool_size=3, strides=2, padding="same", data_format="channels_first"), (2, 3, 7, 7)),
    (dict(pool_size=(3, 2), strides=(1, 2), padding="valid"), (2, 6, 7, 3)),
])
def test_average_pooling2d_matches_keras(kwargs, shape):
    check_against_keras("AveragePooling2D", kwargs, shape)


@pytest.mark.parametrize("kwargs, shape", [
    # Asymmetric "same" padding: Keras's torch backend counts replicated edge cells here,
    # diverging from Keras's definition (TensorFlow/JAX): compare with the definition.
    (dict(pool_size=3, strides=2, padding="same"), (2, 7, 6, 3)),
    (dict(pool_size=(3, 2), strides=(2, 1), padding="same", data_format="channels_first"),
     (2, 3, 7, 6)),
])
def test_average_pooling2d_same_padding_does_not_count_padded_cells(kwargs, shape):
    layer = kiln.layers.AveragePooling2D(**kwargs)
    strides = layer.strides
    expected = functools.partial(_reference.pool, pool_size=layer.pool_size, strides=strides,
                                 padding="same", mode="average",
                                 data_format=layer.data_format)
    check_against_keras("AveragePooling2D", kwargs, shape, expected=expected)


def test_average_pooling2d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.AveragePooling2D, init_kwargs={"pool_size": 3, "strides": 2,
                                                              "padding": "same"},
                   input_shape=(2, 6, 7, 3), expected_output_shape=(2, 3, 4, 3),
                   expected_num_trainable_weights=0)


def test_average_pooling2d_symbolic_shape_and_errors():
    assert symbolic_output_shape(kiln.layers.AvgPool2D(2), (None, 9, 9, 3)) == (None, 4, 4, 3)
    with pytest.raises(ValueError, match="pool_size"):
        kiln.layers.AveragePooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="padding"):
        kiln.layers.AveragePooling2D(2, padding="full")
