import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs", [
    dict(filters=4, kernel_size=3),
    # Odd kernel, stride 2, "same": asymmetric crop that torch's padding cannot express.
    dict(filters=4, kernel_size=3, strides=2, padding="same"),
    dict(filters=4, kernel_size=4, strides=2, padding="same", activation="relu"),
    dict(filters=4, kernel_size=3, strides=3, padding="same", output_padding=2),
    dict(filters=4, kernel_size=2, strides=3, padding="valid"),
    dict(filters=4, kernel_size=3, strides=2, padding="valid", output_padding=1),
    dict(filters=4, kernel_size=3, dilation_rate=2, padding="same", use_bias=False),
    dict(filters=4, kernel_size=5, strides=(2, 3), padding="same", output_padding=(1, 0),
         data_format="channels_first"),
])
def test_conv2d_transpose_matches_keras(kwargs):
    shape = (2, 3, 5, 6) if kwargs.get("data_format") == "channels_first" else (2, 5, 6, 3)
    check_against_keras("Conv2DTranspose", kwargs, shape)


def test_conv2d_transpose_layer_harness_with_save_load():
    run_layer_test(kiln.layers.Conv2DTranspose,
                   init_kwargs={"filters": 2, "kernel_size": 3, "strides": 2,
                                "padding": "same"},
                   input_shape=(2, 4, 5, 3), expected_output_shape=(2, 8, 10, 2),
                   expected_num_trainable_weights=2)


def test_conv2d_transpose_symbolic_shape_and_errors():
    layer = kiln.layers.Conv2DTranspose(3, 3, strides=2)
    assert symbolic_output_shape(layer, (None, 4, 5, 2)) == (None, 9, 11, 3)
    with pytest.raises(ValueError, match="output_padding"):
        kiln.layers.Conv2DTranspose(3, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="rank 4"):
        kiln.layers.Conv2DTranspose(3, 3)(np.ones((1, 5, 3), "float32"))
