import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=4, kernel_size=3), (2, 7, 7, 3)),
    (dict(filters=5, kernel_size=3, depth_multiplier=2, strides=2, padding="same"),
     (2, 8, 7, 3)),
    (dict(filters=4, kernel_size=2, padding="same", data_format="channels_first",
          use_bias=False, activation="elu", pointwise_regularizer="l1"), (2, 3, 6, 5)),
])
def test_separable_conv2d_matches_keras(kwargs, shape):
    check_against_keras("SeparableConv2D", kwargs, shape)


def test_separable_conv2d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.SeparableConv2D,
                   init_kwargs={"filters": 4, "kernel_size": 3, "depth_multiplier": 2},
                   input_shape=(2, 5, 5, 3), expected_output_shape=(2, 3, 3, 4),
                   expected_num_trainable_weights=3)


def test_separable_conv2d_symbolic_shape():
    layer = kiln.layers.SeparableConv2D(4, 3, strides=2, padding="same")
    assert symbolic_output_shape(layer, (None, 9, 9, 3)) == (None, 5, 5, 4)
