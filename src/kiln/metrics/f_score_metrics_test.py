import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

AVERAGES = [None, "micro", "macro", "weighted"]


def _batches():
    r = rng(0)
    return [(r.integers(0, 2, size=(16, 4)), r.uniform(size=(16, 4)).astype("float32")),
            (r.integers(0, 2, size=(16, 4)), r.uniform(size=(16, 4)).astype("float32"),
             {"sample_weight": r.uniform(size=(16,)).astype("float32")})]


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_f1_and_fbeta_match_keras(average, threshold):
    check_metric_against_keras(metrics.F1Score(average=average, threshold=threshold),
                               keras.metrics.F1Score(average=average, threshold=threshold), _batches())
    kwargs = {"average": average, "threshold": threshold, "beta": 2.0}
    check_metric_against_keras(metrics.FBetaScore(**kwargs), keras.metrics.FBetaScore(**kwargs), _batches())


def test_configs_match_keras():
    check_metric_config_against_keras(metrics.F1Score, keras.metrics.F1Score)
    check_metric_config_against_keras(metrics.F1Score, keras.metrics.F1Score,
                                      {"average": "macro", "threshold": 0.3, "name": "f"})
    check_metric_config_against_keras(metrics.FBetaScore, keras.metrics.FBetaScore,
                                      {"average": "weighted", "beta": 0.5})
    assert metrics.F1Score()._direction == "up"


def test_argument_errors():
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="median")
    with pytest.raises(ValueError, match="beta"):
        metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="threshold"):
        metrics.F1Score(threshold=1.5)
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.F1Score().update_state([1, 0], [0.3, 0.6])
