import numpy as np
import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(), (2, 7, 6, 3)),
    (dict(pool_size=3, strides=2, padding="same"), (2, 7, 6, 3)),
    (dict(pool_size=2, strides=1, padding="same"), (2, 7, 6, 3)),
    (dict(pool_size=(3, 2), strides=(2, 1), padding="same", data_format="channels_first"),
     (2, 3, 7, 6)),
])
def test_max_pooling2d_matches_keras(kwargs, shape):
    check_against_keras("MaxPooling2D", kwargs, shape)


def test_max_pooling2d_padding_never_wins():
    x = -np.ones((1, 3, 3, 1), "float32")
    out = kiln.layers.MaxPooling2D(2, padding="same")(x)
    assert out.shape == (1, 2, 2, 1)
    assert (out.numpy() == -1).all()


def test_max_pooling2d_layer_harness_with_save_load():
    layer = run_layer_test(kiln.layers.MaxPooling2D, init_kwargs={"pool_size": 2},
                           input_shape=(2, 6, 7, 3), expected_output_shape=(2, 3, 3, 3),
                           expected_num_trainable_weights=0)
    assert layer.get_build_config() is None  # built at construction, as in Keras


def test_max_pooling2d_symbolic_shape_and_rank_error():
    assert symbolic_output_shape(kiln.layers.MaxPool2D(), (None, 9, 9, 3)) == (None, 4, 4, 3)
    with pytest.raises(ValueError, match="ndim=4"):
        kiln.layers.MaxPooling2D()(np.ones((2, 9, 3), "float32"))
