import pytest

from kiln import losses
from kiln.losses._oracle_testlib import (
    assert_close,
    check_config_against_keras,
    check_loss_against_keras,
    keras,
    rng,
)

CASES = [("Dice", {}), ("Dice", {"axis": (1, 2, 3)}), ("Tversky", {}),
         ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": [1, 2, 3]})]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_overlap_losses_match_keras(name, kwargs):
    y_true = rng(0).integers(0, 2, size=(3, 4, 4, 1)).astype("float32")
    y_pred = rng(1).uniform(size=(3, 4, 4, 1)).astype("float32")
    weights = (rng(2).uniform(size=(3,)).astype("float32"),) if kwargs.get("axis") else ()
    check_loss_against_keras(getattr(losses, name), getattr(keras.losses, name), kwargs,
                             y_true, y_pred, sample_weights=weights)
    fn = name.lower()
    assert_close(getattr(losses, fn)(y_true, y_pred, **kwargs),
                 getattr(keras.losses, fn)(y_true, y_pred, **kwargs))


@pytest.mark.parametrize("name,kwargs", [("Dice", {"axis": (1, 2)}),
                                         ("Tversky", {"alpha": 0.2, "beta": 0.8, "axis": None})])
def test_config_matches_keras(name, kwargs):
    check_config_against_keras(getattr(losses, name), getattr(keras.losses, name))
    check_config_against_keras(getattr(losses, name), getattr(keras.losses, name), kwargs)
