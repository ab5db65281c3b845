import numpy as np
import pytest

import kiln
from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


@pytest.mark.parametrize("axes,shapes", [
    (1, [(4, 3), (4, 3)]),
    (-1, [(4, 3), (4, 3)]),
    ((1, 2), [(2, 5, 3), (2, 4, 5)]),
    ((2, 1), [(2, 5, 3), (2, 3, 6)]),
    ((1, 1), [(2, 5), (2, 5, 3)]),
    ((2, 1), [(2, 4, 5), (2, 5)]),
    ((3, 1), [(2, 2, 3, 4), (2, 4, 6)]),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_matches_keras(axes, shapes, normalize):
    keras = oracle.keras()
    ours = layers.Dot(axes=axes, normalize=normalize, name="d")
    theirs = keras.layers.Dot(axes=axes, normalize=normalize, name="d")
    oracle.assert_same_config(ours, theirs)
    xs = [oracle.random(s, seed=i) for i, s in enumerate(shapes)]
    oracle.assert_close(ours(xs), theirs(xs))
    symbolic = layers.Dot(axes=axes)([kiln.Input(s[1:]) for s in shapes])
    assert symbolic.shape == (None,) + tuple(ours(xs).shape[1:])


def test_errors_like_keras():
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        layers.Dot(axes=1)([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")])
    with pytest.raises(TypeError, match="axes"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        layers.Dot(axes=(1, 2, 3))


def test_harness_and_functional_form():
    run_layer_test(layers.Dot, init_kwargs={"axes": 1}, input_shape=[(2, 3), (2, 3)],
                   expected_output_shape=(2, 1))
    xs = [oracle.random((2, 3), seed=i) for i in range(2)]
    oracle.assert_close(layers.dot(xs, axes=1, normalize=True),
                        layers.Dot(axes=1, normalize=True)(xs))
