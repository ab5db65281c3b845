import numpy as np
import pytest
import torch

import kiln
from kiln import metrics
from kiln.losses._oracle_testlib import check_metric_against_keras, keras


class Maximum(metrics.Metric):
    def __init__(self, name="maximum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.best = self.add_variable(shape=(), initializer="zeros", name="best")

    def update_state(self, values):
        self.best.assign(torch.maximum(self.best.value, torch.as_tensor(values).max()))

    def result(self):
        return self.best.value.clone()


class KerasMaximum(keras.metrics.Metric):
    def __init__(self, name="maximum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.best = self.add_variable(shape=(), initializer="zeros", name="best")

    def update_state(self, values):
        self.best.assign(keras.ops.maximum(self.best, keras.ops.max(values)))

    def result(self):
        return keras.ops.convert_to_tensor(self.best)


def test_custom_metric_matches_keras():
    check_metric_against_keras(Maximum(), KerasMaximum(),
                               [(np.array([1.0, 5.0, 2.0], "float32"),), (np.array([3.0], "float32"),)])


def test_variables_are_non_trainable_kiln_variables_with_metric_paths():
    m = Maximum(name="peak")
    (v,) = m.variables
    assert isinstance(v, kiln.Variable) and not v.trainable and v.path == "peak/best"
    assert v.aggregation == "sum" and v.synchronization == "on_read"


def test_call_updates_then_returns_result_and_reset_zeroes():
    m = Maximum()
    assert float(m([1.0, 4.0])) == 4.0
    assert float(m([2.0])) == 4.0
    m.reset_state()
    assert float(m.result()) == 0.0


def test_nested_metrics_contribute_their_variables():
    class Pair(metrics.Metric):
        def __init__(self):
            super().__init__(name="pair")
            self.count = self.add_weight(name="count")
            self.inner = metrics.Mean(name="inner")

    pair = Pair()
    assert [v.path for v in pair.variables] == ["pair/count", "inner/total", "inner/count"]


def test_add_variable_accepts_callables_and_dtype():
    class Counter(metrics.Metric):
        def __init__(self):
            super().__init__(name="counter")
            self.n = self.add_variable((2,), lambda shape, dtype: torch.ones(shape), dtype="int32", name="n")

    (v,) = Counter().variables
    assert v.dtype == "int32" and v.numpy().tolist() == [1, 1]


def test_forgetting_super_init_is_reported():
    class Broken(metrics.Metric):
        def __init__(self):
            self.v = None

        def update_state(self, x):
            pass

        def result(self):
            return 0

    with pytest.raises(RuntimeError, match="super"):
        Broken()(1.0)


def test_base_methods_must_be_implemented():
    m = metrics.Metric(name="base")
    with pytest.raises(NotImplementedError, match="update_state"):
        m.update_state(1.0)
    with pytest.raises(NotImplementedError, match="result"):
        m.result()


def test_default_names_and_config():
    assert metrics.Mean().name.startswith("mean")
    assert metrics.AUC().name.startswith("auc")
    assert metrics.Precision().get_config()["dtype"] == "float32"
    assert metrics.Mean(dtype="float64").variables[0].dtype == "float64"
    assert repr(metrics.Mean(name="m")) == "<Mean name=m>"
