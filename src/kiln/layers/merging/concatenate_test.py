import numpy as np
import pytest

import kiln
from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


@pytest.mark.parametrize("axis,shapes", [(-1, [(2, 3, 4), (2, 3, 5)]),
                                         (1, [(2, 3, 4), (2, 1, 4), (2, 2, 4)]),
                                         (0, [(2, 3), (4, 3)])])
def test_matches_keras(axis, shapes):
    keras = oracle.keras()
    ours, theirs = layers.Concatenate(axis=axis, name="c"), keras.layers.Concatenate(axis=axis,
                                                                                     name="c")
    oracle.assert_same_config(ours, theirs)
    xs = [oracle.random(s, seed=i) for i, s in enumerate(shapes)]
    oracle.assert_close(ours(xs), theirs(xs))


def test_symbolic_shapes():
    a, b = kiln.Input((3, 4)), kiln.Input((3, 5))
    assert layers.Concatenate()([a, b]).shape == (None, 3, 9)
    assert layers.concatenate([a, kiln.Input((None, 4))], axis=1).shape == (None, None, 4)


def test_mismatched_shapes_are_reported_like_keras():
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        layers.Concatenate()([np.ones((2, 3, 4), "float32"), np.ones((2, 4, 4), "float32")])
    with pytest.raises(ValueError, match="list of"):
        layers.Concatenate().build((2, 3))


def test_harness():
    run_layer_test(layers.Concatenate, init_kwargs={"axis": 1}, input_shape=[(2, 3), (2, 4)],
                   expected_output_shape=(2, 7))
