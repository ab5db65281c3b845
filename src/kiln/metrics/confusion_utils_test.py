import numpy as np
import pytest
import torch

import kiln
from kiln.metrics import confusion_utils


def _vars(n, labels=None):
    shape = (n,) if labels is None else (n, labels)
    return {k: kiln.Variable(np.zeros(shape, "float32"), trainable=False) for k in confusion_utils.KEYS}


@pytest.mark.parametrize("multi_label", [False, True])
def test_bucketed_and_compared_paths_agree(multi_label):
    r = np.random.default_rng(0)
    y_true = r.integers(0, 2, size=(50, 3))
    y_pred = r.uniform(size=(50, 3)).astype("float32")
    weights = r.uniform(size=(50,)).astype("float32")
    thresholds = [-1e-7] + [i / 9 for i in range(1, 9)] + [1 + 1e-7]
    results = []
    for evenly in (True, False):
        variables = _vars(10, 3 if multi_label else None)
        confusion_utils.update_confusion_matrix_variables(
            variables, y_true, y_pred, thresholds, sample_weight=weights, multi_label=multi_label,
            thresholds_distributed_evenly=evenly)
        results.append({k: v.numpy() for k, v in variables.items()})
    for key in confusion_utils.KEYS:
        np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-5, atol=1e-5)


def test_counts_on_a_small_example():
    variables = _vars(1)
    confusion_utils.update_confusion_matrix_variables(
        variables, [0, 1, 1, 0, 1], [0.9, 0.8, 0.2, 0.1, 0.7], [0.5])
    assert {k: float(v.numpy()[0]) for k, v in variables.items()} == {
        "tp": 2.0, "fp": 1.0, "tn": 1.0, "fn": 1.0}


def test_filter_top_k_and_threshold_parsing():
    x = torch.tensor([[0.1, 0.5, 0.3], [0.9, 0.2, 0.4]])
    kept = confusion_utils.filter_top_k(x, 2)
    assert (kept > -1).tolist() == [[False, True, True], [True, False, True]]
    assert confusion_utils.parse_init_thresholds(None) == [0.5]
    assert confusion_utils.parse_init_thresholds(0.3) == [0.3]
    assert confusion_utils.is_evenly_distributed_thresholds([0.0, 0.5, 1.0])
    assert not confusion_utils.is_evenly_distributed_thresholds([0.0, 0.4, 1.0])
    with pytest.raises(ValueError, match="Confusion-matrix variables"):
        confusion_utils.update_confusion_matrix_variables({"xx": None}, [1], [1], [0.5])
