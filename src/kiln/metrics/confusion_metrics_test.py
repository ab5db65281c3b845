import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

N = 20


def _binary_batches():
    r = rng(0)
    y_true = r.integers(0, 2, size=(N,)).astype("float32")
    y_pred = r.uniform(size=(N,)).astype("float32")
    y_pred[:3] = [0.0, 0.5, 1.0]  # exactly on the thresholds
    return [(y_true, y_pred),
            (y_true.reshape(N, 1), y_pred.reshape(N, 1), {"sample_weight": r.uniform(size=(N,)).astype("float32")}),
            (r.integers(0, 2, size=(N, 3)), r.uniform(size=(N, 3)).astype("float32"),
             {"sample_weight": r.uniform(size=(N, 1)).astype("float32")})]


THRESHOLDS = [None, 0.3, [0.1, 0.5, 0.9], [0.0, 0.25, 0.5, 0.75, 1.0]]


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
                                  "Precision", "Recall"])
@pytest.mark.parametrize("thresholds", THRESHOLDS, ids=str)
def test_counts_precision_recall_match_keras(name, thresholds):
    check_metric_against_keras(getattr(metrics, name)(thresholds=thresholds, name="m"),
                               getattr(keras.metrics, name)(thresholds=thresholds, name="m"),
                               _binary_batches())


@pytest.mark.parametrize("name", ["Precision", "Recall"])
@pytest.mark.parametrize("kwargs", [{"top_k": 2}, {"class_id": 1}, {"top_k": 2, "class_id": 3},
                                    {"top_k": 1, "thresholds": [0.2, 0.6]}], ids=str)
def test_precision_recall_top_k_and_class_id_match_keras(name, kwargs):
    r = rng(1)
    batches = [(r.integers(0, 2, size=(N, 5)), r.uniform(size=(N, 5)).astype("float32")),
               (r.integers(0, 2, size=(N, 5)), r.uniform(size=(N, 5)).astype("float32"),
                {"sample_weight": r.uniform(size=(N,)).astype("float32")})]
    check_metric_against_keras(getattr(metrics, name)(name="m", **kwargs),
                               getattr(keras.metrics, name)(name="m", **kwargs), batches)


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"])
def test_count_configs_match_keras(name):
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name))
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name),
                                      {"thresholds": [0.2, 0.4], "name": "c"})


@pytest.mark.parametrize("name", ["Precision", "Recall"])
def test_precision_recall_configs_match_keras(name):
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name))
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name),
                                      {"thresholds": 0.7, "top_k": 3, "class_id": 2})
    assert getattr(metrics, name)()._direction == "up"


def test_thresholds_outside_unit_interval_are_rejected():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
