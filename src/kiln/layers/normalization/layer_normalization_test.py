import numpy as np
import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def _pair(shape, **kwargs):
    keras = oracle.keras()
    ours = layers.LayerNormalization(name="ln", **kwargs)
    theirs = keras.layers.LayerNormalization(name="ln", **kwargs)
    oracle.assert_same_config(ours, theirs)
    ours.build(shape)
    theirs.build(shape)
    oracle.assert_same_config(ours, theirs)  # axis becomes a sorted list at build, as Keras
    oracle.assert_same_weights_layout(ours, theirs)
    rng = np.random.default_rng(4)
    theirs.set_weights([rng.uniform(0.5, 1.5, tuple(w.shape)).astype("float32")
                        for w in theirs.weights])
    oracle.copy_weights(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("shape,kwargs", [
    ((4, 6), {}),
    ((2, 3, 5), {"axis": [1, 2], "epsilon": 1e-6}),
    ((2, 3, 4, 5), {"axis": [1, 3]}),  # not contiguous: the moments path
    ((2, 3, 5), {"center": False}),
    ((2, 3, 5), {"scale": False, "center": False}),
])
def test_matches_keras(shape, kwargs):
    ours, theirs = _pair(shape, **kwargs)
    x = oracle.random(shape) * 3 + 1
    oracle.assert_close(ours(x), theirs(x))


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_deprecated_rms_scaling_matches_keras():
    with pytest.warns(UserWarning):
        ours, theirs = _pair((3, 8), rms_scaling=True)
    assert [v.name for v in ours.weights] == ["gamma"]
    x = oracle.random((3, 8)) + 2
    oracle.assert_close(ours(x), theirs(x))


def test_harness_and_bad_axis():
    run_layer_test(layers.LayerNormalization, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=2)
    with pytest.raises(ValueError, match="out of bounds"):
        layers.LayerNormalization(axis=4).build((2, 3))
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="last")
