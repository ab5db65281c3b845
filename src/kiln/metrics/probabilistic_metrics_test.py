import numpy as np
import pytest

from kiln import metrics
from kiln.losses._oracle_testlib import (
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

N, C = 8, 4


def _probs(seed):
    p = rng(seed).uniform(0.05, 1.0, size=(N, C)).astype("float32")
    return p / p.sum(-1, keepdims=True)


def _sw(seed):
    return {"sample_weight": rng(seed).uniform(size=(N,)).astype("float32")}


CASES = [
    ("KLDivergence", {}, "probs"),
    ("Poisson", {}, "probs"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary"),
    ("CategoricalCrossentropy", {}, "one_hot"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "one_hot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, "sparse"),
]


def _labels(kind, seed):
    r = rng(seed)
    if kind == "probs":
        return _probs(seed)
    if kind == "binary":
        return r.integers(0, 2, size=(N, C)).astype("float32")
    if kind == "one_hot":
        return np.eye(C, dtype="float32")[r.integers(0, C, size=N)]
    return r.integers(0, C, size=(N,))


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{n}-{k}" for n, k, _ in CASES])
def test_probabilistic_metrics_match_keras(name, kwargs, kind):
    def pred(seed):
        return (rng(seed).normal(size=(N, C)) * 2).astype("float32") if kwargs.get("from_logits") else _probs(seed)

    batches = [(_labels(kind, 1), pred(2)), (_labels(kind, 3), pred(4), _sw(5))]
    check_metric_against_keras(getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs),
                               batches)
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name), kwargs)
    assert getattr(metrics, name)()._direction == getattr(keras.metrics, name)()._direction == "down"
