import numpy as np
import torch

from kiln.trainers import logs


def test_pythonify_sorts_flattens_and_converts():
    out = logs.pythonify({"loss": torch.tensor(0.5), "compile_metrics": {
        "b": torch.tensor([1.0]), "a": np.float32(2.0)}, "vec": torch.tensor([1.0, 2.0])})
    assert list(out) == ["a", "b", "loss", "vec"]
    assert out["loss"] == 0.5 and isinstance(out["b"], float) and isinstance(out["a"], float)
    np.testing.assert_array_equal(out["vec"], [1.0, 2.0])


def test_lazy_logs_compute_once_on_first_read():
    calls = []

    def compute():
        calls.append(1)
        return {"loss": torch.tensor(1.0)}

    lazy = logs.LazyLogs(compute, ["loss"])
    assert len(lazy) == 1 and "loss" in lazy and calls == []
    assert lazy["loss"] == 1.0 and dict(lazy) == {"loss": 1.0} and calls == [1]
