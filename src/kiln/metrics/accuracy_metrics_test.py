import numpy as np
import pytest
import torch

from kiln import metrics
from kiln.losses._oracle_testlib import (
    assert_close,
    check_metric_against_keras,
    check_metric_config_against_keras,
    keras,
    rng,
)

N, C = 12, 6


def _sw(seed, shape=(N,)):
    return {"sample_weight": rng(seed).uniform(size=shape).astype("float32")}


def _probs(seed, shape=(N, C)):
    p = rng(seed).uniform(size=shape).astype("float32")
    return p / p.sum(-1, keepdims=True)


def _sparse(seed, shape=(N,)):
    return rng(seed).integers(0, C, size=shape)


def _one_hot(seed, shape=(N,)):
    return np.eye(C, dtype="float32")[_sparse(seed, shape)]


def test_accuracy_matches_keras():
    a, b = _sparse(0, (N, 1)), _sparse(1, (N, 1))
    b[:6] = a[:6]
    check_metric_against_keras(metrics.Accuracy(), keras.metrics.Accuracy(),
                               [(a, b), (a, b, _sw(2)), (a.ravel(), b, _sw(3))])


def test_binary_accuracy_matches_keras():
    y_true = rng(4).integers(0, 2, size=(N, 1)).astype("float32")
    y_pred = rng(5).uniform(size=(N, 1)).astype("float32")
    for threshold in (0.5, 0.3):
        check_metric_against_keras(
            metrics.BinaryAccuracy(threshold=threshold), keras.metrics.BinaryAccuracy(threshold=threshold),
            [(y_true, y_pred), (y_true, y_pred, _sw(6)), (y_true.ravel(), y_pred, _sw(7)),
             (y_true.astype("int64"), y_pred)])


def test_categorical_accuracy_matches_keras():
    check_metric_against_keras(
        metrics.CategoricalAccuracy(), keras.metrics.CategoricalAccuracy(),
        [(_one_hot(8), _probs(9)), (_one_hot(10), _probs(11), _sw(12)),
         (_one_hot(13, (N, 3)), _probs(14, (N, 3, C)), _sw(15))])


@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8", "float32"])
def test_sparse_categorical_accuracy_matches_keras(label_dtype):
    y_true = _sparse(16).astype(label_dtype)
    check_metric_against_keras(
        metrics.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalAccuracy(),
        [(y_true, _probs(17)), (y_true.reshape(N, 1), _probs(18), _sw(19)),
         (_sparse(20, (N, 3)).astype(label_dtype), _probs(21, (N, 3, C)), _sw(22, (N, 3)))])


@pytest.mark.parametrize("k", [1, 3, 5])
def test_top_k_accuracy_matches_keras(k):
    check_metric_against_keras(
        metrics.TopKCategoricalAccuracy(k=k), keras.metrics.TopKCategoricalAccuracy(k=k),
        [(_one_hot(23), _probs(24)), (_one_hot(25), _probs(26), _sw(27)),
         (_one_hot(28, (N, 3)), _probs(29, (N, 3, C)))])
    check_metric_against_keras(
        metrics.SparseTopKCategoricalAccuracy(k=k), keras.metrics.SparseTopKCategoricalAccuracy(k=k),
        [(_sparse(30), _probs(31)), (_sparse(32, (N, 1)), _probs(33), _sw(34)),
         (_sparse(35, (N, 3)), _probs(36, (N, 3, C)))])


def test_top_k_ties_count_as_hits_like_keras():
    y_pred = np.array([[0.5, 0.5, 0.0], [0.2, 0.4, 0.4]], "float32")
    y_true = np.array([1, 2])
    assert_close(metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=1),
                 keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=1))


def test_sparse_top_k_from_sorted_ids_matches_keras():
    ids = np.argsort(-_probs(37), axis=-1).astype("int32")
    kwargs = {"k": 2, "from_sorted_ids": True}
    check_metric_against_keras(metrics.SparseTopKCategoricalAccuracy(**kwargs),
                               keras.metrics.SparseTopKCategoricalAccuracy(**kwargs),
                               [(_sparse(38), ids), (_sparse(39), ids, _sw(40))])


@pytest.mark.parametrize("fn", ["binary_accuracy", "categorical_accuracy",
                                "sparse_categorical_accuracy", "top_k_categorical_accuracy",
                                "sparse_top_k_categorical_accuracy"])
def test_functions_match_keras(fn):
    y_pred = _probs(41)
    y_true = {"binary_accuracy": rng(42).integers(0, 2, size=(N, C)).astype("float32"),
              "categorical_accuracy": _one_hot(42), "top_k_categorical_accuracy": _one_hot(42)
              }.get(fn, _sparse(42))
    assert_close(getattr(metrics, fn)(y_true, y_pred), getattr(keras.metrics, fn)(y_true, y_pred))
    assert getattr(metrics, fn)(torch.tensor(y_true), torch.tensor(y_pred)).dtype == torch.float32


CONFIGS = [("Accuracy", {}), ("BinaryAccuracy", {"threshold": 0.7}), ("CategoricalAccuracy", {}),
           ("SparseCategoricalAccuracy", {"dtype": "float64"}), ("TopKCategoricalAccuracy", {"k": 3}),
           ("SparseTopKCategoricalAccuracy", {"k": 2}),
           ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True})]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_config_and_direction_match_keras(name, kwargs):
    check_metric_config_against_keras(getattr(metrics, name), getattr(keras.metrics, name), kwargs)
    assert getattr(metrics, name)()._direction == getattr(keras.metrics, name)()._direction == "up"
