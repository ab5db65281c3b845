import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

CASES = [("SensitivityAtSpecificity", 0.6), ("SpecificityAtSensitivity", 0.7),
         ("PrecisionAtRecall", 0.5), ("RecallAtPrecision", 0.6)]


@pytest.mark.parametrize("name,value", CASES)
@pytest.mark.parametrize("extra", [{}, {"num_thresholds": 1}, {"num_thresholds": 13}, {"class_id": 2}], ids=str)
def test_operating_point_metrics_match_keras(name, value, extra):
    r = rng(0)
    shape = (30, 4) if "class_id" in extra else (30,)
    y_true = r.integers(0, 2, size=shape).astype("float32")
    y_pred = r.uniform(size=shape).astype("float32")
    batches = [(y_true, y_pred), (y_true, y_pred ** 2, {"sample_weight": r.uniform(size=(30,)).astype("float32")})]
    check_metric_against_keras(getattr(metrics, name)(value, name="m", **extra),
                               getattr(keras.metrics, name)(value, name="m", **extra), batches)


@pytest.mark.parametrize("name,value", CASES)
def test_config_matches_keras(name, value):
    arg = name.split("At")[1].lower()
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name), {arg: value})
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name),
                                      {arg: value, "num_thresholds": 20, "class_id": 1})
    with pytest.raises(ValueError, match=arg):
        getattr(metrics, name)(1.5)
