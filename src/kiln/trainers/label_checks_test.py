import numpy as np
import pytest

import kiln
from kiln.trainers import label_checks


def _classifier(loss, metrics=None):
    model = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=loss, metrics=metrics)
    return model


X = np.random.RandomState(0).rand(8, 4).astype("float32")
LABELS = np.arange(8) % 3
ONE_HOT = np.eye(3, dtype="float32")[LABELS]


def test_one_hot_labels_with_sparse_loss():
    model = _classifier(kiln.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError) as info:
        model.fit(X, ONE_HOT, verbose=0)
    message = str(info.value)
    assert "(8, 3)" in message and "one-hot" in message and "CategoricalCrossentropy" in message


def test_integer_labels_with_categorical_loss():
    model = _classifier("categorical_crossentropy")
    with pytest.raises(ValueError, match="look like integer class indices. Use "
                                         "SparseCategoricalCrossentropy"):
        model.fit(X, LABELS, verbose=0)
    with pytest.raises(ValueError, match="integer class indices"):
        model.evaluate(X, LABELS.reshape(-1, 1), verbose=0)


def test_wrong_target_width_for_regression_names_the_shapes():
    model = _classifier("mse")
    with pytest.raises(ValueError, match=r"y_true shape \(8, 2\).*y_pred shape \(8, 3\)"):
        model.fit(X, np.zeros((8, 2), "float32"), verbose=0)


def test_sample_count_mismatch_names_both_counts():
    model = _classifier("mse")
    with pytest.raises(ValueError, match=r"x sizes: \[8\], y sizes: \[6\]"):
        model.fit(X, ONE_HOT[:6], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight sizes: \[5\]"):
        model.fit(X, ONE_HOT, sample_weight=np.ones(5), verbose=0)


def test_missing_targets():
    model = _classifier("mse")
    with pytest.raises(ValueError, match="Target data is missing.*pass `y`"):
        model.fit(X, verbose=0)


def test_wrong_number_of_targets_for_two_outputs():
    inputs = kiln.Input((4,))
    model = kiln.Model(inputs, [kiln.layers.Dense(1, name="a")(inputs),
                                kiln.layers.Dense(1, name="b")(inputs)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"2 outputs \['a', 'b'\].*single target"):
        model.fit(X, np.zeros((8, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"keys \['c'\] that are not outputs"):
        model.fit(X, {"a": np.zeros((8, 1)), "c": np.zeros((8, 1))}, verbose=0)


def test_keras_rule_for_accuracy_and_crossentropy():
    assert label_checks.binary_or_sparse(np.zeros((4,)), np.zeros((4, 1))) == (True, True)
    assert label_checks.binary_or_sparse(np.zeros((4,)), np.zeros((4, 3))) == (False, True)
    assert label_checks.binary_or_sparse(np.zeros((4, 3)), np.zeros((4, 3))) == (False, False)
    model = _classifier("ce", metrics=["acc", "ce"])
    model.fit(X, LABELS, verbose=0)
    metrics = model.metrics[1].metrics
    assert [type(m).__name__ for m in metrics] == ["SparseCategoricalAccuracy",
                                                   "SparseCategoricalCrossentropy"]
    assert [m.name for m in metrics] == ["acc", "ce"]
