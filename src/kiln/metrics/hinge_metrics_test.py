import numpy as np
import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)


@pytest.mark.parametrize("name", ["Hinge", "SquaredHinge", "CategoricalHinge"])
def test_hinge_metrics_match_keras(name):
    r = rng(0)
    if name == "CategoricalHinge":
        labels = [np.eye(4, dtype="float32")[r.integers(0, 4, size=8)] for _ in range(2)]
    else:
        labels = [r.integers(0, 2, size=(8, 4)).astype("float32"),
                  (r.integers(0, 2, size=(8, 4)) * 2 - 1).astype("float32")]
    preds = [r.normal(size=(8, 4)).astype("float32") for _ in range(2)]
    batches = [(labels[0], preds[0]),
               (labels[1], preds[1], {"sample_weight": r.uniform(size=(8,)).astype("float32")})]
    check_metric_against_keras(getattr(metrics, name)(), getattr(keras.metrics, name)(), batches)
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name),
                                      {"name": "h", "dtype": "float64"})
    assert getattr(metrics, name)()._direction == getattr(keras.metrics, name)()._direction == "down"
