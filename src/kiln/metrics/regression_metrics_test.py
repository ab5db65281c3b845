import warnings

import numpy as np
import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

NAMES = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
         "MeanSquaredLogarithmicError", "RootMeanSquaredError", "CosineSimilarity", "LogCoshError"]


def _batches(positive=False):
    r = rng(0)

    def data(shape):
        x = r.normal(size=shape).astype("float32")
        return np.abs(x) if positive else x

    return [(data((8, 3)), data((8, 3))),
            (data((8, 3)), data((8, 3)), {"sample_weight": r.uniform(size=(8,)).astype("float32")}),
            (data((8,)), data((8, 1)), {"sample_weight": r.uniform(size=(8, 1)).astype("float32")}),
            (data((8, 4, 3)), data((8, 4, 3)), {"sample_weight": r.uniform(size=(8, 4)).astype("float32")})]


@pytest.mark.parametrize("name", NAMES)
def test_regression_metrics_match_keras(name):
    batches = _batches(positive=name == "MeanSquaredLogarithmicError")
    check_metric_against_keras(getattr(metrics, name)(), getattr(keras.metrics, name)(), batches)


@pytest.mark.parametrize("name", NAMES + ["R2Score"])
def test_config_and_direction_match_keras(name):
    ours, theirs = getattr(metrics, name), getattr(keras.metrics, name)
    check_metric_config_against_keras(ours, theirs)
    check_metric_config_against_keras(ours, theirs, {"name": "x", "dtype": "float64"})
    assert ours()._direction == theirs()._direction


@pytest.mark.parametrize("kwargs", [{}, {"class_aggregation": "variance_weighted_average"},
                                    {"class_aggregation": None}, {"num_regressors": 2}])
def test_r2_score_matches_keras(kwargs):
    r = rng(1)
    y_true = r.normal(size=(10, 3)).astype("float32")
    y_pred = (y_true + 0.5 * r.normal(size=(10, 3))).astype("float32")
    batches = [(y_true, y_pred), (y_true[:5], y_pred[::2], {"sample_weight": r.uniform(size=(5,)).astype("float32")})]
    check_metric_against_keras(metrics.R2Score(**kwargs), keras.metrics.R2Score(**kwargs), batches,
                               rtol=1e-4)
    check_metric_config_against_keras(metrics.R2Score, keras.metrics.R2Score, kwargs)


def test_r2_score_rejects_bad_arguments_and_warns_like_keras():
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="median")
    with pytest.raises(ValueError, match="num_regressors"):
        metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.R2Score().update_state(np.zeros(3), np.zeros(3))
    m = metrics.R2Score(num_regressors=5)
    m.update_state(np.array([[1.0], [2.0], [4.0]]), np.array([[1.5], [2.0], [3.0]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.result()
    assert any("More independent predictors" in str(w.message) for w in caught)
