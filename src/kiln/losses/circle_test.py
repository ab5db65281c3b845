import numpy as np

from kiln import losses
from kiln.losses._oracle_testlib import (
    assert_close,
    check_config_against_keras,
    check_loss_against_keras,
    keras,
    rng,
)


def test_circle_matches_keras():
    emb = rng(0).normal(size=(8, 6)).astype("float32")
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 3], dtype="int32")
    kwargs = {"gamma": 10.0, "margin": 0.3}
    check_loss_against_keras(losses.Circle, keras.losses.Circle, kwargs, labels, emb,
                             sample_weights=(rng(1).uniform(size=(8,)).astype("float32"),),
                             rtol=1e-4)
    assert_close(losses.circle(labels, emb, gamma=10.0), keras.losses.circle(labels, emb, gamma=10.0),
                 rtol=1e-4)
    check_config_against_keras(losses.Circle, keras.losses.Circle)
    check_config_against_keras(losses.Circle, keras.losses.Circle,
                               {"gamma": 30.0, "margin": 0.1, "remove_diagonal": False})
