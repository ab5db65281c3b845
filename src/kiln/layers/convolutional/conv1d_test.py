import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=4, kernel_size=3), (2, 9, 3)),
    (dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    (dict(filters=4, kernel_size=4, padding="same", strides=3), (2, 10, 3)),
    (dict(filters=6, kernel_size=2, padding="causal", groups=3, data_format="channels_first",
          activation="sigmoid"), (2, 3, 7)),
])
def test_conv1d_matches_keras(kwargs, shape):
    check_against_keras("Conv1D", kwargs, shape)


def test_conv1d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.Conv1D, init_kwargs={"filters": 2, "kernel_size": 3,
                                                    "padding": "causal"},
                   input_shape=(2, 6, 3), expected_output_shape=(2, 6, 2),
                   expected_num_trainable_weights=2)


def test_causal_output_does_not_see_the_future():
    layer = kiln.layers.Conv1D(1, 3, padding="causal", use_bias=False)
    x = np.zeros((1, 8, 1), "float32")
    before = layer(x).detach().numpy()
    x[0, 5, 0] = 1.0
    after = layer(x).detach().numpy()
    np.testing.assert_array_equal(before[0, :5], after[0, :5])
    assert symbolic_output_shape(layer, (None, 8, 1)) == (None, 8, 1)


def test_conv1d_rejects_wrong_rank_clearly():
    layer = kiln.layers.Conv1D(2, 3)
    with pytest.raises(ValueError, match="rank 3"):
        layer(np.ones((1, 5, 5, 3), "float32"))
