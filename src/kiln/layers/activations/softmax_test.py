import numpy as np
import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


@pytest.mark.parametrize("axis", [-1, 1, (1, 2), [2]])
def test_matches_keras(axis):
    keras = oracle.keras()
    ours, theirs = layers.Softmax(axis=axis, name="s"), keras.layers.Softmax(axis=axis, name="s")
    oracle.assert_same_config(ours, theirs)
    x = oracle.random((2, 3, 4))
    oracle.assert_close(ours(x), theirs(x))


def test_mask_matches_keras_including_fully_masked_rows():
    keras = oracle.keras()
    x = oracle.random((2, 3, 4))
    mask = np.random.default_rng(2).uniform(size=(2, 3, 4)) > 0.4
    mask[0, 0] = False  # a row with nothing to attend to is all zeros
    for m in (mask, mask.astype("float32"), mask[:, :1, :]):
        ours = layers.Softmax()(x, mask=m)
        oracle.assert_close(ours, keras.layers.Softmax()(x, mask=m))
    assert not layers.Softmax()(x, mask=mask)[0, 0].any()


def test_bad_mask_shape():
    with pytest.raises(ValueError, match="broadcastable"):
        layers.Softmax()(np.ones((2, 3), "float32"), mask=np.ones((2, 4), bool))


def test_harness():
    run_layer_test(layers.Softmax, init_kwargs={"axis": 1}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4))
