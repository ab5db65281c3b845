import numpy as np
import pytest

from kiln import losses
from kiln.losses._oracle_testlib import (
    assert_close,
    check_config_against_keras,
    check_loss_against_keras,
    keras,
    rng,
)

N = 7
WEIGHTS = (rng(1).uniform(size=(N,)).astype("float32"), np.array([0, 1, 1, 0, 1, 1, 0], "float32"))


def _labels(kind, seed):
    r = rng(seed)
    if kind == "binary01":
        return r.integers(0, 2, size=(N, 4)).astype("float32")
    if kind == "signed":
        return (r.integers(0, 2, size=(N, 4)) * 2 - 1).astype("float32")
    return np.eye(4, dtype="float32")[r.integers(0, 4, size=N)]


@pytest.mark.parametrize("name", ["Hinge", "SquaredHinge", "CategoricalHinge"])
@pytest.mark.parametrize("kind", ["binary01", "signed", "one_hot"])
def test_hinge_losses_match_keras(name, kind):
    y_true = _labels(kind, 2)
    y_pred = rng(3).normal(size=(N, 4)).astype("float32")
    check_loss_against_keras(getattr(losses, name), getattr(keras.losses, name), {}, y_true, y_pred,
                             sample_weights=WEIGHTS)
    fn = {"Hinge": "hinge", "SquaredHinge": "squared_hinge", "CategoricalHinge": "categorical_hinge"}[name]
    assert_close(getattr(losses, fn)(y_true, y_pred), getattr(keras.losses, fn)(y_true, y_pred))
    check_config_against_keras(getattr(losses, name), getattr(keras.losses, name))
    check_config_against_keras(getattr(losses, name), getattr(keras.losses, name),
                               {"reduction": None, "name": "h"})
