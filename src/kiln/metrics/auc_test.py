import numpy as np
import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

N = 64


def _batches(labels=1):
    r = rng(0)
    shape = (N,) if labels == 1 else (N, labels)
    y_true = r.integers(0, 2, size=shape).astype("float32")
    y_pred = np.clip(y_true * 0.3 + r.uniform(size=shape) * 0.7, 0, 1).astype("float32")
    y_pred.flat[:4] = [0.0, 1.0, 0.5, 0.25]
    y_true2 = r.integers(0, 2, size=shape).astype("float32")
    y_pred2 = r.uniform(size=shape).astype("float32")
    return [(y_true, y_pred), (y_true2, y_pred2, {"sample_weight": r.uniform(size=(N,)).astype("float32")})]


CASES = [
    {}, {"curve": "PR"}, {"curve": "PR", "summation_method": "majoring"},
    {"summation_method": "minoring"}, {"curve": "PRGAIN"}, {"num_thresholds": 7},
    {"thresholds": [0.1, 0.35, 0.6, 0.9]}, {"thresholds": [0.25, 0.5, 0.75]},
    {"curve": "PR", "num_thresholds": 50}, {"label_weights": [0.2, 0.5, 0.3]},
]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_auc_matches_keras(kwargs):
    labels = 3 if "label_weights" in kwargs else 1
    check_metric_against_keras(metrics.AUC(name="auc", **kwargs), keras.metrics.AUC(name="auc", **kwargs),
                               _batches(labels))


@pytest.mark.parametrize("kwargs", [{"multi_label": True}, {"multi_label": True, "num_labels": 3},
                                    {"multi_label": True, "curve": "PR", "label_weights": [1.0, 2.0, 0.5]},
                                    {"multi_label": True, "thresholds": [0.2, 0.4, 0.9]}], ids=str)
def test_multi_label_auc_matches_keras(kwargs):
    check_metric_against_keras(metrics.AUC(name="auc", **kwargs), keras.metrics.AUC(name="auc", **kwargs),
                               _batches(3))


def test_auc_from_logits_matches_keras():
    r = rng(1)
    batches = [(r.integers(0, 2, size=(N,)), (r.normal(size=(N,)) * 3).astype("float32"))]
    check_metric_against_keras(metrics.AUC(name="a", from_logits=True),
                               keras.metrics.AUC(name="a", from_logits=True), batches)


def test_auc_matches_exact_roc_auc_on_separable_scores():
    m = metrics.AUC()
    m.update_state([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert abs(float(m.result()) - 1.0) < 1e-6


@pytest.mark.parametrize("kwargs", [{}, {"num_thresholds": 10, "curve": "PR", "summation_method": "majoring",
                                         "multi_label": True, "num_labels": 2, "from_logits": True},
                                    {"thresholds": [0.3, 0.6]}], ids=str)
def test_auc_config_matches_keras(kwargs):
    check_metric_config_against_keras(metrics.AUC, keras.metrics.AUC, kwargs)
    assert metrics.AUC()._direction == "up"


def test_auc_argument_errors():
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="summation"):
        metrics.AUC(summation_method="trapezoid")
    with pytest.raises(ValueError, match="multi_label"):
        metrics.AUC(num_labels=3)


def test_label_weights_config_is_a_plain_list_and_keras_files_load():
    import kiln

    m = metrics.AUC(name="a", multi_label=True, label_weights=[0.2, 0.8])
    assert m.get_config()["label_weights"] == pytest.approx([0.2, 0.8])
    keras_config = keras.saving.serialize_keras_object(
        keras.metrics.AUC(name="a", multi_label=True, label_weights=[0.2, 0.8]))
    loaded = kiln.saving.deserialize_keras_object(keras_config)
    assert loaded.label_weights.tolist() == pytest.approx([0.2, 0.8])
    assert keras.metrics.AUC.from_config(m.get_config()).label_weights is not None
