import numpy as np
import pytest
import torch

from kiln import losses
from kiln.losses._oracle_testlib import (
    REDUCTIONS,
    assert_close,
    check_config_against_keras,
    check_loss_against_keras,
    keras,
    rng,
)

N, C = 8, 5
WEIGHTS = (rng(1).uniform(size=(N,)).astype("float32"),
           np.array([1, 0, 0, 1, 1, 0, 1, 1], dtype="float32"),
           rng(2).uniform(size=(N, 1)).astype("float32"))


def _probs(seed, shape=(N, C)):
    p = rng(seed).uniform(0.01, 1.0, size=shape).astype("float32")
    return p / p.sum(-1, keepdims=True)


def _logits(seed, shape=(N, C)):
    return (rng(seed).normal(size=shape) * 3).astype("float32")


def _one_hot(seed, shape=(N,), classes=C):
    return np.eye(classes, dtype="float32")[rng(seed).integers(0, classes, size=shape)]


def _binary(seed, shape=(N, 3)):
    return rng(seed).integers(0, 2, size=shape).astype("float32")


def _sigmoid_probs(seed, shape=(N, 3)):
    p = rng(seed).uniform(size=shape).astype("float32")
    p.flat[0], p.flat[-1] = 0.0, 1.0  # exact 0 and 1 hit the epsilon clipping
    return p


BINARY_CASES = [
    ("BinaryCrossentropy", {}),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}),
    ("BinaryCrossentropy", {"from_logits": True}),
    ("BinaryFocalCrossentropy", {}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5}),
    ("BinaryFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}),
]


@pytest.mark.parametrize("name,kwargs", BINARY_CASES, ids=[f"{n}-{k}" for n, k in BINARY_CASES])
def test_binary_losses_match_keras(name, kwargs):
    y_true = _binary(3)
    y_pred = _logits(4, (N, 3)) if kwargs.get("from_logits") else _sigmoid_probs(4)
    check_loss_against_keras(getattr(losses, name), getattr(keras.losses, name), kwargs,
                             y_true, y_pred, sample_weights=WEIGHTS)


def test_binary_crossentropy_with_rank_1_labels_matches_keras():
    y_true = _binary(5, (N,))
    y_pred = _sigmoid_probs(6, (N, 1))
    check_loss_against_keras(losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy, {},
                             y_true, y_pred, sample_weights=WEIGHTS)


CATEGORICAL_CASES = [
    ("CategoricalCrossentropy", {}),
    ("CategoricalCrossentropy", {"from_logits": True}),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}),
    ("CategoricalFocalCrossentropy", {}),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": 0.5, "gamma": 1.0}),
    ("KLDivergence", {}),
    ("Poisson", {}),
]


@pytest.mark.parametrize("name,kwargs", CATEGORICAL_CASES,
                         ids=[f"{n}-{k}" for n, k in CATEGORICAL_CASES])
def test_categorical_losses_match_keras(name, kwargs):
    y_true = _probs(7) if name == "KLDivergence" else _one_hot(7)
    y_pred = _logits(8) if kwargs.get("from_logits") else _probs(8)
    check_loss_against_keras(getattr(losses, name), getattr(keras.losses, name), kwargs,
                             y_true, y_pred, sample_weights=WEIGHTS)


def test_categorical_crossentropy_on_sequences_and_other_axis():
    y_true, y_pred = _one_hot(9, (N, 4)), _logits(10, (N, 4, C))
    weights = (WEIGHTS[2], rng(4).uniform(size=(N, 4)).astype("float32"))
    for kwargs in ({"from_logits": True}, {}):
        pred = y_pred if kwargs else np.abs(y_pred)
        check_loss_against_keras(losses.CategoricalCrossentropy, keras.losses.CategoricalCrossentropy,
                                 kwargs, y_true, pred, sample_weights=weights)
    # class axis 1: (N, C, 4)
    t, p = np.moveaxis(y_true, -1, 1), np.moveaxis(y_pred, -1, 1)
    for from_logits in (True, False):
        p_ = p if from_logits else np.abs(p)
        assert_close(losses.categorical_crossentropy(t, p_, from_logits=from_logits, axis=1),
                     keras.losses.categorical_crossentropy(t, p_, from_logits=from_logits, axis=1))


SPARSE_CASES = [{}, {"from_logits": True}, {"ignore_class": 2}, {"from_logits": True, "ignore_class": 0}]


@pytest.mark.parametrize("kwargs", SPARSE_CASES, ids=[str(k) for k in SPARSE_CASES])
@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8", "float32", "float64"])
def test_sparse_categorical_crossentropy_matches_keras(kwargs, label_dtype):
    labels = rng(11).integers(0, C, size=(N,)).astype(label_dtype)
    y_pred = _logits(12) if kwargs.get("from_logits") else _probs(12)
    # The full reduction x weight grid once; the other label dtypes only change decoding.
    full = label_dtype == "int64"
    check_loss_against_keras(losses.SparseCategoricalCrossentropy,
                             keras.losses.SparseCategoricalCrossentropy, kwargs, labels, y_pred,
                             sample_weights=WEIGHTS if full else WEIGHTS[1:2],
                             reductions=REDUCTIONS if full else ("sum_over_batch_size", None))
    # labels shaped (batch, 1) and torch tensors of the same dtype
    t_labels = torch.from_numpy(labels.reshape(N, 1))
    ours = losses.SparseCategoricalCrossentropy(**kwargs)(t_labels, torch.from_numpy(y_pred))
    theirs = keras.losses.SparseCategoricalCrossentropy(**kwargs)(labels.reshape(N, 1), y_pred)
    assert_close(ours, theirs)


def test_sparse_categorical_crossentropy_on_sequences_with_ignore_class():
    labels = rng(13).integers(0, C, size=(N, 6))
    y_pred = _logits(14, (N, 6, C))
    kwargs = {"from_logits": True, "ignore_class": 1}
    weights = (rng(3).uniform(size=(N, 6)).astype("float32"),)
    check_loss_against_keras(losses.SparseCategoricalCrossentropy,
                             keras.losses.SparseCategoricalCrossentropy, kwargs, labels, y_pred,
                             sample_weights=weights)
    assert_close(losses.sparse_categorical_crossentropy(labels, y_pred, **kwargs),
                 keras.losses.sparse_categorical_crossentropy(labels, y_pred, **kwargs))


def test_sparse_categorical_crossentropy_class_axis_1():
    labels = rng(15).integers(0, C, size=(N, 6))
    y_pred = _logits(16, (N, C, 6))
    assert_close(losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True, axis=1),
                 keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True, axis=1))


def test_sparse_categorical_crossentropy_rejects_one_hot_labels():
    with pytest.raises(ValueError, match="categorical_crossentropy for one-hot"):
        losses.sparse_categorical_crossentropy(_one_hot(0), _probs(0))


def test_generalized_cross_entropy_matches_keras():
    labels = rng(17).integers(0, C, size=(N,))
    check_loss_against_keras(losses.CategoricalGeneralizedCrossEntropy,
                             keras.losses.CategoricalGeneralizedCrossEntropy, {"q": 0.7},
                             labels, _probs(18), sample_weights=WEIGHTS)
    with pytest.raises(ValueError, match="open interval"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)


@pytest.mark.parametrize("fn_name,kind", [
    ("binary_crossentropy", "binary"), ("binary_focal_crossentropy", "binary"),
    ("categorical_crossentropy", "cat"), ("categorical_focal_crossentropy", "cat"),
    ("sparse_categorical_crossentropy", "sparse"), ("kl_divergence", "dist"), ("poisson", "cat"),
])
@pytest.mark.parametrize("from_logits", [False, True])
def test_functions_match_keras(fn_name, kind, from_logits):
    kwargs = {"from_logits": True} if from_logits else {}
    if fn_name in ("kl_divergence", "poisson"):
        if from_logits:
            return
        kwargs = {}
    y_true = {"binary": _binary(19), "cat": _one_hot(19), "sparse": rng(19).integers(0, C, size=N),
              "dist": _probs(19)}[kind]
    shape = (N, 3) if kind == "binary" else (N, C)
    y_pred = _logits(20, shape) if from_logits else (_sigmoid_probs(20) if kind == "binary" else _probs(20))
    assert_close(getattr(losses, fn_name)(y_true, y_pred, **kwargs),
                 getattr(keras.losses, fn_name)(y_true, y_pred, **kwargs), what=fn_name)


CONFIG_CASES = [
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "axis": 1}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0}),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.3}),
    ("CategoricalFocalCrossentropy", {"alpha": 0.4, "gamma": 3.0, "from_logits": True}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": -1}),
    ("KLDivergence", {"reduction": "sum"}),
    ("Poisson", {"name": "p"}),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.3}),
]


@pytest.mark.parametrize("name,kwargs", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_matches_keras(name, kwargs):
    check_config_against_keras(getattr(losses, name), getattr(keras.losses, name))
    check_config_against_keras(getattr(losses, name), getattr(keras.losses, name), kwargs)


def test_cross_entropy_gradients_match_keras():
    labels = rng(21).integers(0, C, size=(N,))
    logits = _logits(22)
    grads = []
    for lib in (losses, keras.losses):
        x = torch.tensor(logits, requires_grad=True)
        lib.SparseCategoricalCrossentropy(from_logits=True)(torch.from_numpy(labels), x).backward()
        grads.append(x.grad)
    assert_close(grads[0], grads[1])
