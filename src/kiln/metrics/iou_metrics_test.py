import numpy as np
import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

C = 4


def _sparse_batches():
    r = rng(0)
    return [(r.integers(0, C, size=(10, 3)), r.integers(0, C, size=(10, 3))),
            (r.integers(-1, C + 1, size=(10,)), r.integers(0, C, size=(10,)),
             {"sample_weight": r.integers(0, 3, size=(10,))})]


@pytest.mark.parametrize("kwargs", [{}, {"ignore_class": 0}, {"dtype": "float32"}], ids=str)
def test_iou_and_mean_iou_match_keras(kwargs):
    check_metric_against_keras(metrics.IoU(C, [0, 2], name="i", **kwargs),
                               keras.metrics.IoU(C, [0, 2], name="i", **kwargs), _sparse_batches())
    check_metric_against_keras(metrics.MeanIoU(C, name="i", **kwargs),
                               keras.metrics.MeanIoU(C, name="i", **kwargs), _sparse_batches())


def test_binary_and_one_hot_iou_match_keras():
    r = rng(1)
    y_true = r.integers(0, 2, size=(12,))
    y_pred = r.uniform(size=(12,)).astype("float32")
    for kwargs in ({}, {"threshold": 0.3, "target_class_ids": [1]}):
        check_metric_against_keras(metrics.BinaryIoU(name="b", **kwargs),
                                   keras.metrics.BinaryIoU(name="b", **kwargs), [(y_true, y_pred)])
    one_hot = np.eye(C, dtype="float32")[r.integers(0, C, size=12)]
    scores = r.uniform(size=(12, C)).astype("float32")
    check_metric_against_keras(metrics.OneHotIoU(C, [1, 3], name="o"),
                               keras.metrics.OneHotIoU(C, [1, 3], name="o"), [(one_hot, scores)])
    check_metric_against_keras(metrics.OneHotMeanIoU(C, name="o"),
                               keras.metrics.OneHotMeanIoU(C, name="o"), [(one_hot, scores)])


def test_iou_configs_match_keras():
    pairs = [("IoU", {"num_classes": 3, "target_class_ids": [0, 2], "ignore_class": 1}),
             ("BinaryIoU", {"threshold": 0.6}), ("MeanIoU", {"num_classes": 5, "sparse_y_pred": False}),
             ("OneHotIoU", {"num_classes": 3, "target_class_ids": [1]}),
             ("OneHotMeanIoU", {"num_classes": 3, "axis": 1})]
    for name, kwargs in pairs:
        check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name), kwargs)
    with pytest.raises(ValueError, match="out of range"):
        metrics.IoU(3, [3])
