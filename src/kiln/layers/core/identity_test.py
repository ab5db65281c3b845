import numpy as np

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def test_matches_keras_and_keeps_dtype():
    keras = oracle.keras()
    ours, theirs = layers.Identity(name="id"), keras.layers.Identity(name="id")
    oracle.assert_same_config(ours, theirs)
    x = oracle.random((2, 4))
    oracle.assert_close(ours(x), theirs(x))
    import kiln

    sym = layers.Identity()(kiln.Input((3,), dtype="int32"))
    assert sym.dtype == "int32" and sym.shape == (None, 3)


def test_harness():
    run_layer_test(layers.Identity, input_shape=(2, 3), expected_output_shape=(2, 3))


def test_list_input_passes_through():
    a, b = np.ones((2, 2), "float32"), np.zeros((2, 3), "float32")
    out = layers.Identity()([a, b])
    assert [tuple(t.shape) for t in out] == [(2, 2), (2, 3)]
