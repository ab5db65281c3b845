"""Shared checks of the elementwise merge layers against Keras (test-only)."""

import numpy as np
import pytest

import kiln
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test

SHAPE_CASES = [
    [(2, 3, 4), (2, 3, 4), (2, 3, 4)],
    [(2, 3, 4), (2, 1, 4)],          # broadcasting a size-1 axis
    [(2, 3, 4), (2, 4)],             # lower rank: expanded after the batch axis
]


def check_against_keras(name, shape_cases=SHAPE_CASES):
    keras = oracle.keras()
    ours_cls, theirs_cls = getattr(kiln.layers, name), getattr(keras.layers, name)
    oracle.assert_same_config(ours_cls(name="m"), theirs_cls(name="m"))
    for shapes in shape_cases:
        xs = [oracle.random(s, seed=i) for i, s in enumerate(shapes)]
        ours, theirs = ours_cls(), theirs_cls()
        oracle.assert_close(ours(xs), theirs(xs))
        symbolic = ours_cls()([kiln.Input(s[1:]) for s in shapes])
        expected = theirs_cls()([keras.Input(s[1:]) for s in shapes])
        assert symbolic.shape == tuple(expected.shape)


def check_incompatible_shapes(name):
    layer_cls = getattr(kiln.layers, name)
    with pytest.raises(ValueError, match="incompatible shapes"):
        layer_cls()([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")])
    with pytest.raises(ValueError, match="list of inputs"):
        layer_cls()(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="different batch sizes"):
        layer_cls()([kiln.Input(batch_shape=(2, 3)), kiln.Input(batch_shape=(4, 3))])


def check_harness(name):
    run_layer_test(getattr(kiln.layers, name), input_shape=[(2, 3), (2, 3)],
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0)


def check_functional_form(name, fn):
    xs = [oracle.random((2, 3), seed=i) for i in range(2)]
    oracle.assert_close(fn(xs), getattr(kiln.layers, name)()(xs))
