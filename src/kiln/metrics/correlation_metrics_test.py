import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    assert_close,
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)


@pytest.mark.parametrize("name,fn", [("PearsonCorrelation", "pearson_correlation"),
                                     ("ConcordanceCorrelation", "concordance_correlation")])
def test_correlation_metrics_match_keras(name, fn):
    r = rng(0)
    y_true = r.normal(size=(6, 5)).astype("float32")
    y_pred = (y_true + r.normal(size=(6, 5))).astype("float32")
    batches = [(y_true, y_pred), (y_pred, y_true, {"sample_weight": r.uniform(size=(6,)).astype("float32")})]
    check_metric_against_keras(getattr(metrics, name)(), getattr(keras.metrics, name)(), batches)
    for axis in (-1, 0):
        assert_close(getattr(metrics, fn)(y_true, y_pred, axis=axis),
                     getattr(keras.metrics, fn)(y_true, y_pred, axis=axis))
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name), {"axis": 0})
    assert getattr(metrics, name)()._direction == "up"
