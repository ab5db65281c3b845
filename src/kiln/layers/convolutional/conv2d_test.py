import numpy as np
import pytest
import torch

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=4, kernel_size=3), (2, 7, 7, 3)),
    # Even kernel, stride 2, "same": Keras pads one cell more at the bottom/right.
    (dict(filters=4, kernel_size=2, strides=2, padding="same"), (2, 7, 8, 3)),
    (dict(filters=4, kernel_size=(4, 3), strides=(3, 2), padding="same",
          data_format="channels_first", activation="tanh"), (2, 3, 7, 8)),
    (dict(filters=4, kernel_size=3, dilation_rate=2, padding="same", groups=2,
          activation="relu"), (2, 9, 9, 6)),
    (dict(filters=3, kernel_size=1, use_bias=False, kernel_initializer="he_normal",
          kernel_regularizer="l2", activity_regularizer="l1"), (2, 4, 4, 5)),
])
def test_conv2d_matches_keras(kwargs, shape):
    check_against_keras("Conv2D", kwargs, shape)


def test_conv2d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.Conv2D, init_kwargs={"filters": 4, "kernel_size": 3,
                                                    "padding": "same", "strides": 2},
                   input_shape=(2, 9, 9, 3), expected_output_shape=(2, 5, 5, 4),
                   expected_num_trainable_weights=2)


def test_conv2d_symbolic_shape_and_gradients():
    layer = kiln.layers.Conv2D(5, 3, strides=2, padding="same")
    assert symbolic_output_shape(layer, (None, 11, 10, 3)) == (None, 6, 5, 5)
    x = torch.randn(2, 11, 10, 3)
    layer(x).sum().backward()
    assert layer.kernel.value.grad.shape == (3, 3, 3, 5)
    assert layer.bias.value.grad is not None


def test_conv2d_rejects_bad_arguments_clearly():
    with pytest.raises(ValueError, match="divisible by `groups`"):
        kiln.layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        kiln.layers.Conv2D(5, 3, padding="causal")
    with pytest.raises(ValueError, match="strides"):
        kiln.layers.Conv2D(5, 3, strides=2, dilation_rate=2)
    layer = kiln.layers.Conv2D(4, 3, groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        layer(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="output of size"):
        kiln.layers.Conv2D(4, 5)(np.ones((1, 3, 3, 2), "float32"))
