import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(padding=((1, 0), (2, 3))),
    dict(padding=2, data_format="channels_first"),
    dict(padding=(1, 2)),
])
def test_zero_padding2d_matches_keras(kwargs):
    check_against_keras("ZeroPadding2D", kwargs, (2, 3, 4, 5))


def test_zero_padding2d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.ZeroPadding2D, init_kwargs={"padding": (1, 2)},
                   input_shape=(2, 3, 4, 5), expected_output_shape=(2, 5, 8, 5),
                   expected_num_trainable_weights=0)


def test_zero_padding2d_symbolic_shape_and_errors():
    layer = kiln.layers.ZeroPadding2D(((1, 0), (0, 2)))
    assert symbolic_output_shape(layer, (None, 3, 4, 5)) == (None, 4, 6, 5)
    assert layer.compute_output_shape((None, None, 4, 5)) == (None, None, 6, 5)
    with pytest.raises(ValueError, match="padding"):
        kiln.layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match=">= 0"):
        kiln.layers.ZeroPadding2D(((1, -1), (0, 0)))
