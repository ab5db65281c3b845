import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(kernel_size=3), (2, 7, 7, 3)),
    (dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 8, 7, 3)),
    (dict(kernel_size=(2, 3), data_format="channels_first", use_bias=False,
          activation="relu"), (2, 3, 8, 7)),
    (dict(kernel_size=2, dilation_rate=2, padding="same", depth_multiplier=3), (2, 6, 6, 2)),
])
def test_depthwise_conv2d_matches_keras(kwargs, shape):
    check_against_keras("DepthwiseConv2D", kwargs, shape)


def test_depthwise_conv2d_layer_harness_with_save_load():
    layer = run_layer_test(kiln.layers.DepthwiseConv2D,
                           init_kwargs={"kernel_size": 3, "depth_multiplier": 2},
                           input_shape=(2, 5, 5, 3), expected_output_shape=(2, 3, 3, 6),
                           expected_num_trainable_weights=2)
    # Keras 3 names the variable "kernel"; `depthwise_kernel` is an alias.
    assert layer.depthwise_kernel is layer.kernel
    assert layer.kernel.shape == (3, 3, 3, 2)


def test_depthwise_conv2d_symbolic_shape_and_errors():
    layer = kiln.layers.DepthwiseConv2D(3, depth_multiplier=4, padding="same")
    assert symbolic_output_shape(layer, (None, 6, 6, 2)) == (None, 6, 6, 8)
    with pytest.raises(ValueError, match="depth_multiplier"):
        kiln.layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="channel dimension"):
        kiln.layers.DepthwiseConv2D(3).build((None, 6, 6, None))
