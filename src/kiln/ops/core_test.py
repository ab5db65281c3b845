"""Conversion, casting and structural ops."""

import numpy as np
import pytest
import torch

import kiln
from kiln import ops


@pytest.mark.parametrize("value,dtype", [
    (1, torch.int32),
    (2**40, torch.int64),
    (1.5, torch.float32),
    (True, torch.bool),
    ([1, 2], torch.int32),
    ([1.0, 2], torch.float32),
    (np.ones(2), torch.float32),  # float64 NumPy becomes float32 by default
    (np.ones(2, dtype="int64"), torch.int64),
    (np.float64(2.0), torch.float32),
    (np.ones(2, dtype="float16"), torch.float16),
    (torch.ones(2, dtype=torch.float64), torch.float64),  # torch tensors keep their dtype
    ([torch.ones(2), np.zeros(2, "float32")], torch.float32),
])
def test_convert_to_tensor_default_dtypes(value, dtype):
    assert ops.convert_to_tensor(value).dtype == dtype


def test_convert_to_tensor_explicit_dtype_keeps_precision():
    t = ops.convert_to_tensor(np.array([0.1]), dtype="float64")
    assert t.dtype == torch.float64 and t.item() == 0.1
    assert ops.convert_to_tensor(0.1, dtype="float64").item() == 0.1


def test_convert_to_tensor_unwraps_variables():
    v = kiln.Variable(np.ones((2, 2), "float32"))
    t = ops.convert_to_tensor(v)
    assert t is v.value
    assert ops.convert_to_tensor(v, dtype="float64").dtype == torch.float64


def test_convert_to_tensor_rejects_strings():
    with pytest.raises(TypeError, match="Cannot convert"):
        ops.convert_to_tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="Expected a tensor"):
        ops.convert_to_tensor(object())


def test_convert_to_tensor_handles_readonly_and_strided_arrays():
    a = np.arange(6, dtype="float32").reshape(2, 3)[:, ::2]
    a.flags.writeable = False
    np.testing.assert_array_equal(ops.convert_to_tensor(a).numpy(), a)


def test_convert_to_numpy_and_bfloat16():
    assert ops.convert_to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32
    assert isinstance(ops.convert_to_numpy(kiln.Variable([1.0])), np.ndarray)
    x = torch.ones(2, requires_grad=True)
    assert ops.convert_to_numpy(x * 2).tolist() == [2.0, 2.0]


def test_cast_shape_and_dtype_helpers():
    assert ops.cast([1.7, -1.7], "int32").tolist() == [1, -1]
    assert ops.shape(np.zeros((2, 3))) == (2, 3)
    assert ops.shape(kiln.Variable(np.zeros((4,)))) == (4,)
    assert ops.shape([[1, 2]]) == (1, 2)
    assert ops.ndim(np.zeros((2, 3))) == 2 and ops.size(np.zeros((2, 3))) == 6
    assert ops.dtype(np.ones(2)) == "float32"
    assert ops.standardize_dtype(torch.int64) == "int64"


def test_stop_gradient_detaches():
    v = kiln.Variable([1.0, 2.0])
    assert ops.stop_gradient(v).requires_grad is False
    assert ops.is_tensor(v) and ops.is_tensor(torch.ones(1)) and not ops.is_tensor(np.ones(1))


def test_cond_and_unstack():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.cond(ops.convert_to_tensor(False), lambda: 1, lambda: 2) == 2
    parts = ops.unstack(np.arange(6).reshape(2, 3), axis=1)
    assert [p.tolist() for p in parts] == [[0, 3], [1, 4], [2, 5]]
    with pytest.raises(ValueError, match="size 4"):
        ops.unstack(np.zeros((2, 3)), num=4)


def test_scatter_and_slices():
    out = ops.scatter([[0, 1], [1, 0], [0, 1]], [1.0, 2.0, 3.0], (2, 2))
    assert out.tolist() == [[0.0, 4.0], [2.0, 0.0]]
    upd = ops.scatter_update(np.zeros((2, 2), "float32"), [[1, 1]], [5.0])
    assert upd.tolist() == [[0.0, 0.0], [0.0, 5.0]]
    x = np.arange(12, dtype="float32").reshape(3, 4)
    assert ops.slice(x, (1, 1), (2, 2)).tolist() == [[5.0, 6.0], [9.0, 10.0]]
    y = ops.slice_update(x, (0, 2), np.zeros((2, 2), "float32"))
    assert y[:2, 2:].sum().item() == 0 and y[2].tolist() == x[2].tolist()


def test_epsilon_default():
    assert ops.epsilon() == pytest.approx(1e-7)


def test_all_names_resolve():
    missing = [n for n in ops.__all__ if not callable(getattr(ops, n, None))]
    assert missing == []


def test_numpy_constants_follow_meta_tensors_during_tracing():
    from kiln.core.variable import symbolic_scope

    with symbolic_scope(), torch.device("meta"):
        x = torch.empty((2, 3), device="meta")
        assert ops.add(x, np.ones(3, "float32")).device.type == "meta"
        assert ops.where(x > 0, x, np.zeros((2, 3), "float32")).device.type == "meta"
        assert ops.where(x > 0, 1.0, 0.0).device.type == "meta"
        assert ops.concatenate([x, np.ones((1, 3), "float32")]).shape == (3, 3)
        assert ops.matmul(x, ops.ones((3, 4))).device.type == "meta"
        v = kiln.Variable(np.ones((3,), "float32"))
        assert ops.multiply(x, v).device.type == "meta"
