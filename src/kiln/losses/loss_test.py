import numpy as np
import pytest
import torch

from kiln import losses
from kiln.losses._oracle_testlib import REDUCTIONS, assert_close, keras, rng


class CubedError(losses.Loss):
    def call(self, y_true, y_pred):
        return torch.mean(torch.abs(y_pred - y_true) ** 3, dim=-1)


class KerasCubedError(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_pred - y_true) ** 3, axis=-1)


def _data():
    r = rng(0)
    return r.normal(size=(6, 3)).astype("float32"), r.normal(size=(6, 3)).astype("float32")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_custom_subclass_matches_keras(reduction):
    y_true, y_pred = _data()
    for sw in (None, rng(1).uniform(size=6).astype("float32"), 2.0, np.zeros(6, "float32")):
        assert_close(CubedError(reduction=reduction)(y_true, y_pred, sample_weight=sw),
                     KerasCubedError(reduction=reduction)(y_true, y_pred, sample_weight=sw),
                     what=f"{reduction}, sw={sw}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mask_on_predictions_matches_keras(reduction):
    # A (batch, time) mask on (batch, time, features) predictions, as a masked RNN gives.
    r = rng(2)
    y_true = r.normal(size=(4, 5, 3)).astype("float32")
    y_pred = r.normal(size=(4, 5, 3)).astype("float32")
    mask = r.integers(0, 2, size=(4, 5)).astype(bool)
    for sw in (None, r.uniform(size=(4, 5)).astype("float32")):
        results = []
        for lib in (losses, keras.losses):
            pred = torch.from_numpy(y_pred.copy())
            pred._keras_mask = torch.from_numpy(mask)
            results.append(lib.MeanSquaredError(reduction=reduction)(y_true, pred, sample_weight=sw))
        assert_close(results[0], results[1], what=f"{reduction}, sw={None if sw is None else sw.shape}")


def test_fully_masked_batch_gives_zero_not_nan():
    pred = torch.ones(2, 3)
    pred._keras_mask = torch.zeros(2, dtype=torch.bool)
    assert float(losses.MeanSquaredError()(torch.zeros(2, 3), pred)) == 0.0


def test_empty_batch_matches_keras():
    empty = np.zeros((0, 3), "float32")
    for reduction in REDUCTIONS:
        assert_close(losses.MeanSquaredError(reduction=reduction)(empty, empty),
                     keras.losses.MeanSquaredError(reduction=reduction)(empty, empty))


def test_invalid_reduction_lists_the_valid_ones():
    with pytest.raises(ValueError, match="sum_over_batch_size") as info:
        losses.MeanSquaredError(reduction="average")
    assert "average" in str(info.value)


def test_dtype_argument_sets_the_computation_dtype():
    loss = losses.MeanSquaredError(dtype="float64")
    assert loss.dtype == "float64"
    assert loss(np.zeros((2, 2)), np.ones((2, 2), "float32")).dtype == torch.float64
    assert losses.MeanSquaredError(dtype="mixed_float16").dtype == "float16"
    half = torch.ones(2, 2, dtype=torch.float16)
    assert losses.MeanSquaredError()(half, half).dtype == torch.float32


def test_default_names_are_snake_case_and_unique():
    first, second = CubedError(), CubedError()
    assert first.name.startswith("cubed_error") and first.name != second.name
    assert losses.Huber().name == "huber_loss"


def test_base_class_call_must_be_implemented():
    with pytest.raises(NotImplementedError, match="per-sample"):
        losses.Loss()(np.zeros(2), np.zeros(2))


def test_function_wrapper_passes_kwargs_and_aligns_ranks():
    wrapper = losses.LossFunctionWrapper(losses.huber, delta=0.5, reduction="sum")
    reference = keras.src.losses.LossFunctionWrapper(keras.losses.huber, delta=0.5, reduction="sum")
    y_true = rng(3).normal(size=(5,)).astype("float32")
    y_pred = rng(4).normal(size=(5, 1)).astype("float32")
    assert_close(wrapper(y_true, y_pred), reference(y_true, y_pred))
    with pytest.raises(TypeError, match="callable"):
        losses.LossFunctionWrapper("huber")


def test_variables_and_tensors_are_accepted():
    import kiln

    y_true = kiln.Variable(np.zeros((2, 2), "float32"), trainable=False)
    assert float(losses.MeanAbsoluteError()(y_true, torch.ones(2, 2))) == 1.0
