import numpy as np
import pytest
import torch

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def test_config_matches_keras():
    keras = oracle.keras()
    for kwargs in ({"rate": 0.5}, {"rate": 0.2, "seed": 3, "noise_shape": (None, 1, 4)}):
        oracle.assert_same_config(layers.Dropout(name="d", **kwargs),
                                  keras.layers.Dropout(name="d", **kwargs))


def test_inference_is_identity_and_training_is_inverted_dropout():
    x = np.ones((200, 50), "float32")
    layer = layers.Dropout(0.3)
    assert torch.equal(layer(x), torch.from_numpy(x))
    assert torch.equal(layer(x, training=False), torch.from_numpy(x))
    y = layer(x, training=True).numpy()
    kept = y[y != 0]
    np.testing.assert_allclose(kept, np.float32(1 / 0.7), rtol=1e-6)
    assert abs((y == 0).mean() - 0.3) < 0.03
    assert abs(y.mean() - 1.0) < 0.05  # expectation preserved


def test_seeded_masks_equal_keras():
    keras = oracle.keras()
    x = oracle.random((4, 6, 8))
    for kwargs in ({"seed": 7}, {"seed": 7, "noise_shape": (None, 1, 8)}):
        ours = layers.Dropout(0.5, **kwargs)
        theirs = keras.layers.Dropout(0.5, **kwargs)
        for _ in range(2):  # the seed generator advances identically
            oracle.assert_close(ours(x, training=True), theirs(x, training=True))


def test_unseeded_is_reproducible_under_torch_manual_seed():
    x = np.ones((8, 8), "float32")
    layer = layers.Dropout(0.5)
    torch.manual_seed(0)
    a = layer(x, training=True)
    torch.manual_seed(0)
    assert torch.equal(a, layer(x, training=True))


def test_noise_shape_broadcasts():
    y = layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=1)(
        np.ones((3, 4, 5), "float32"), training=True).numpy()
    assert (y == y[:, :1, :]).all()


def test_edge_rates_and_validation():
    x = np.ones((2, 2), "float32")
    assert not layers.Dropout(1.0)(x, training=True).any()
    assert torch.equal(layers.Dropout(0.0)(x, training=True), torch.ones(2, 2))
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(2, 0))


def test_harness_no_weights_no_build_config():
    run_layer_test(layers.Dropout, init_kwargs={"rate": 0.5, "seed": 1}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0)
    assert layers.Dropout(0.5).get_build_config() is None
