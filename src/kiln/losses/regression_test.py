import numpy as np
import pytest
import torch

from kiln import losses
from kiln.losses._oracle_testlib import (
    assert_close,
    check_config_against_keras,
    check_loss_against_keras,
    keras,
    rng,
)

CASES = [
    ("MeanSquaredError", "mean_squared_error", {}),
    ("MeanAbsoluteError", "mean_absolute_error", {}),
    ("MeanAbsolutePercentageError", "mean_absolute_percentage_error", {}),
    ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", {}),
    ("CosineSimilarity", "cosine_similarity", {"axis": -1}),
    ("Huber", "huber", {"delta": 0.7}),
    ("LogCosh", "log_cosh", {}),
]


def _data(seed=0, shape=(6, 5)):
    r = rng(seed)
    y_true = r.normal(size=shape).astype("float32")
    y_pred = r.normal(size=shape).astype("float32")
    y_true[0, 0] = 0.0  # exercises the epsilon guard of MAPE
    return y_true, y_pred


@pytest.mark.parametrize("cls_name,fn_name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_class_matches_keras(cls_name, fn_name, kwargs):
    y_true, y_pred = _data()
    if cls_name == "MeanSquaredLogarithmicError":
        y_true, y_pred = np.abs(y_true), np.abs(y_pred)
    weights = (rng(1).uniform(size=(6,)).astype("float32"),
               rng(2).uniform(size=(6, 1)).astype("float32"),
               np.array([1, 0, 1, 0, 0, 1], dtype="float32"))
    check_loss_against_keras(getattr(losses, cls_name), getattr(keras.losses, cls_name), kwargs,
                             y_true, y_pred, sample_weights=weights)


@pytest.mark.parametrize("cls_name,fn_name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_function_matches_keras(cls_name, fn_name, kwargs):
    y_true, y_pred = _data(3, shape=(4, 3, 5))
    ours = getattr(losses, fn_name)(y_true, y_pred, **kwargs)
    theirs = getattr(keras.losses, fn_name)(y_true, y_pred, **kwargs)
    assert_close(ours, theirs, what=fn_name)


@pytest.mark.parametrize("cls_name,fn_name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_config_matches_keras(cls_name, fn_name, kwargs):
    ours, theirs = getattr(losses, cls_name), getattr(keras.losses, cls_name)
    check_config_against_keras(ours, theirs)
    check_config_against_keras(ours, theirs, {"name": "custom", "reduction": "sum"})


def test_rank_alignment_matches_keras():
    # Labels (batch,) against predictions (batch, 1): Keras expands the labels.
    y_true = rng(4).normal(size=(8,)).astype("float32")
    y_pred = rng(5).normal(size=(8, 1)).astype("float32")
    check_loss_against_keras(losses.MeanSquaredError, keras.losses.MeanSquaredError, {},
                             y_true, y_pred, sample_weights=(np.ones(8, "float32"),))


def test_float64_inputs_keep_float64_in_functions():
    y = np.zeros((2, 3))
    assert losses.mean_squared_error(y, y + 1).dtype == torch.float64
    # ...while the Loss object computes in its own dtype, like Keras.
    assert losses.MeanSquaredError()(y, y + 1).dtype == torch.float32


def test_gradients_flow_through_the_loss():
    y_pred = torch.randn(4, 3, requires_grad=True)
    losses.Huber()(torch.zeros(4, 3), y_pred).backward()
    assert y_pred.grad is not None and torch.isfinite(y_pred.grad).all()
