import pytest

import kiln
from kiln.layers.convolutional._oracle_testlib import check_against_keras, symbolic_output_shape
from kiln.testing import run_layer_test


@pytest.mark.parametrize("kwargs, shape", [
    (dict(), (2, 3, 4, 5)),
    # channels_first: channels move last before flattening (element order as Keras).
    (dict(data_format="channels_first"), (2, 3, 4, 5)),
    (dict(data_format="channels_first"), (2, 3, 4)),
    (dict(), (2,)),
])
def test_flatten_matches_keras(kwargs, shape):
    check_against_keras("Flatten", kwargs, shape)


def test_flatten_layer_harness_with_save_load():
    run_layer_test(kiln.layers.Flatten, init_kwargs={}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 12), expected_num_trainable_weights=0)


def test_flatten_symbolic_shapes():
    assert symbolic_output_shape(kiln.layers.Flatten(), (None, 3, 4)) == (None, 12)
    assert kiln.layers.Flatten().compute_output_shape((None, None, 4)) == (None, None)
