import numpy as np
import pytest

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def _pair(shape, **kwargs):
    keras = oracle.keras()
    ours = layers.BatchNormalization(name="bn", **kwargs)
    theirs = keras.layers.BatchNormalization(name="bn", **kwargs)
    ours.build(shape)
    theirs.build(shape)
    rng = np.random.default_rng(3)
    values = []
    for w in theirs.weights:
        low = 0.5 if "variance" in w.name or "stddev" in w.name else -1.0
        values.append(rng.uniform(low, 1.5, tuple(w.shape)).astype("float32"))
    theirs.set_weights(values)
    oracle.copy_weights(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("shape,kwargs", [
    ((8, 5), {}),
    ((4, 3, 6), {"momentum": 0.9, "epsilon": 1e-5}),
    ((2, 3, 4, 5), {"axis": 1, "center": False}),
    ((6, 4), {"scale": False}),
])
def test_matches_keras_inference_training_and_moving_stats(shape, kwargs):
    ours, theirs = _pair(shape, **kwargs)
    keras = oracle.keras()
    oracle.assert_same_config(ours, theirs)
    oracle.assert_same_weights_layout(ours, theirs)
    x = oracle.random(shape) * 2 + 0.5
    oracle.assert_close(ours(x), theirs(x))
    oracle.assert_close(ours(x, training=True), theirs(x, training=True))
    oracle.assert_close(ours.get_weights(), [keras.ops.convert_to_numpy(w)
                                             for w in theirs.get_weights()])


def test_default_config_and_weights_match_keras():
    keras = oracle.keras()
    ours, theirs = layers.BatchNormalization(name="b"), keras.layers.BatchNormalization(name="b")
    oracle.assert_same_config(ours, theirs)
    ours.build((2, 3))
    theirs.build((2, 3))
    oracle.assert_same_weights_layout(ours, theirs)
    assert [v.name for v in ours.non_trainable_weights] == ["moving_mean", "moving_variance"]


def test_moving_variance_uses_the_biased_batch_variance():
    layer = layers.BatchNormalization(momentum=0.0)
    x = oracle.random((10, 3))
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_variance.numpy(), x.var(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(axis=0), atol=1e-6)


def test_frozen_layer_uses_moving_stats_even_in_training():
    ours, theirs = _pair((4, 3))
    ours.trainable = False
    theirs.trainable = False
    x = oracle.random((4, 3))
    before = ours.get_weights()
    oracle.assert_close(ours(x, training=True), theirs(x, training=True))
    oracle.assert_close(ours.get_weights(), before)


def test_masked_training_matches_keras():
    ours, theirs = _pair((2, 5, 3))
    x = oracle.random((2, 5, 3))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    oracle.assert_close(ours(x, training=True, mask=mask), theirs(x, training=True, mask=mask))
    oracle.assert_close(ours.get_weights(), [np.asarray(w) for w in theirs.get_weights()])


def test_renorm_matches_keras():
    kwargs = {"renorm": True, "renorm_clipping": {"rmax": 2.0, "rmin": 0.5, "dmax": 1.0},
              "momentum": 0.8, "renorm_momentum": 0.7}
    ours, theirs = _pair((6, 4), **kwargs)
    oracle.assert_same_config(ours, theirs)
    oracle.assert_same_weights_layout(ours, theirs)
    for seed in range(2):
        x = oracle.random((6, 4), seed=seed) * 3
        oracle.assert_close(ours(x, training=True), theirs(x, training=True))
    oracle.assert_close(ours.get_weights(), [np.asarray(w) for w in theirs.get_weights()])


def test_gradients_flow_to_gamma_and_beta():
    layer = layers.BatchNormalization()
    layer(oracle.random((4, 3)), training=True).sum().backward()
    assert layer.gamma.value.grad is not None and layer.beta.value.grad is not None


def test_harness_and_errors():
    run_layer_test(layers.BatchNormalization, input_shape=(4, 3), expected_output_shape=(4, 3),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=2)
    with pytest.raises(ValueError, match="out of bounds"):
        layers.BatchNormalization(axis=3).build((2, 3))
    with pytest.raises(ValueError, match="invalid keys"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"bad": 1})
