import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(size=(3, 2), data_format="channels_first"),
    dict(size=(2, 3), interpolation="bilinear"),
    dict(size=3, interpolation="bilinear", data_format="channels_first"),
    dict(size=2, interpolation="bicubic"),
])
def test_up_sampling2d_matches_keras(kwargs):
    check_against_keras("UpSampling2D", kwargs, (2, 3, 4, 5))


def test_up_sampling2d_layer_harness_with_save_load():
    run_layer_test(kiln.layers.UpSampling2D, init_kwargs={"size": (2, 3)},
                   input_shape=(2, 3, 4, 5), expected_output_shape=(2, 6, 12, 5),
                   expected_num_trainable_weights=0)


def test_up_sampling2d_symbolic_shape_and_errors():
    layer = kiln.layers.UpSampling2D(2, interpolation="bilinear")
    assert symbolic_output_shape(layer, (None, 3, 4, 5)) == (None, 6, 8, 5)
    assert layer.compute_output_shape((None, None, 4, 5)) == (None, None, 8, 5)
    with pytest.raises(ValueError, match="interpolation"):
        kiln.layers.UpSampling2D(interpolation="lanczos3")
