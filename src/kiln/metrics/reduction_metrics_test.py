import numpy as np
import pytest
import torch

from kiln import losses, metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)


def _batches(shape):
    r = rng(0)
    return [
        (r.normal(size=shape).astype("float32"),),
        (r.normal(size=shape).astype("float32"), {"sample_weight": r.uniform(size=shape[:1]).astype("float32")}),
        (r.normal(size=shape).astype("float32"), {"sample_weight": np.zeros(shape[:1], "float32")}),
        (r.normal(size=shape).astype("float32"), {"sample_weight": 2.0}),
    ]


@pytest.mark.parametrize("name", ["Mean", "Sum"])
@pytest.mark.parametrize("shape", [(6,), (6, 3), (4, 3, 2)])
def test_reduction_metrics_match_keras(name, shape):
    check_metric_against_keras(getattr(metrics, name)(), getattr(keras.metrics, name)(),
                               _batches(shape))


@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_reduction_metric_weights_of_higher_rank(name):
    r = rng(1)
    values = r.normal(size=(4, 3, 2)).astype("float32")
    batches = [(values, {"sample_weight": r.uniform(size=(4, 3)).astype("float32")}),
               (values, {"sample_weight": r.uniform(size=(4, 1)).astype("float32")})]
    check_metric_against_keras(getattr(metrics, name)(), getattr(keras.metrics, name)(), batches)


def test_scalar_value_counts_as_one_sample():
    check_metric_against_keras(metrics.Mean(), keras.metrics.Mean(), [(3.0,), (np.float32(5.0),)])


@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_config_matches_keras(name):
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name))
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name),
                                      {"name": "m", "dtype": "float64"})


def test_mean_metric_wrapper_matches_keras_with_mask_and_weights():
    r = rng(2)
    y_true = r.normal(size=(5, 4, 3)).astype("float32")
    y_pred = r.normal(size=(5, 4, 3)).astype("float32")
    mask = torch.from_numpy(r.integers(0, 2, size=(5, 4)).astype(bool))
    ours = metrics.MeanMetricWrapper(losses.mean_squared_error, name="mse_metric")
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error, name="mse_metric")
    weights = r.uniform(size=(5, 4)).astype("float32")
    for sw in (None, weights):
        results = []
        for metric in (ours, theirs):
            pred = torch.from_numpy(y_pred.copy())
            pred._keras_mask = mask
            metric.update_state(y_true, pred, sample_weight=sw)
            results.append(metric.result())
        np.testing.assert_allclose(results[0].numpy(), np.asarray(results[1]), rtol=1e-5)


def test_mean_metric_wrapper_direction_and_kwargs():
    assert metrics.MeanMetricWrapper(losses.mean_squared_error)._direction == "down"
    assert metrics.MeanMetricWrapper(losses.Huber())._direction == "down"
    assert not hasattr(metrics.MeanMetricWrapper(lambda t, p: p), "_direction")
    m = metrics.MeanMetricWrapper(losses.huber, delta=0.1)
    ref = keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.1)
    y = rng(3).normal(size=(4, 2)).astype("float32")
    np.testing.assert_allclose(m(y, y * 3).numpy(), np.asarray(ref(y, y * 3)), rtol=1e-6)
    with pytest.raises(TypeError, match="callable"):
        metrics.MeanMetricWrapper("mse")


def test_updates_do_not_build_autograd_graphs():
    y_pred = torch.randn(4, 3, requires_grad=True)
    m = metrics.MeanSquaredError()
    m.update_state(torch.zeros(4, 3), y_pred)
    assert not m.result().requires_grad
    assert all(not v.value.requires_grad for v in m.variables)
