"""kiln.ops math against keras.ops (torch backend) on random inputs."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import kiln  # noqa: E402
from kiln import ops  # noqa: E402

RNG = np.random.default_rng(0)


def f32(*shape):
    return RNG.standard_normal(shape).astype("float32")


def pos(*shape):
    return np.abs(f32(*shape)) + 0.1


def ints(*shape):
    return RNG.integers(-5, 6, size=shape).astype("int32")


def unit(*shape):
    return np.tanh(f32(*shape)) * 0.9


A, B, V = f32(3, 4), f32(3, 4), f32(4)

CASES = [
    ("add", (A, B), {}),
    ("add", (A, V), {}),
    ("add", (ints(3), 1.5), {}),
    ("subtract", (A, 2.0), {}),
    ("multiply", (ints(2, 3), ints(3)), {}),
    ("divide", (A, pos(3, 4)), {}),
    ("divide", (ints(4), 2), {}),
    ("true_divide", (A, pos(4)), {}),
    ("power", (pos(3), f32(3)), {}),
    ("power", (ints(3), 2), {}),
    ("negative", (A,), {}),
    ("maximum", (A, B), {}),
    ("minimum", (A, 0.0), {}),
    ("clip", (A, -0.5, 0.5), {}),
    ("clip", (ints(5), 0, 3), {}),
    ("floor_divide", (A, pos(3, 4)), {}),
    ("mod", (A, pos(3, 4)), {}),
    *[(name, (A,), {}) for name in ("exp", "expm1", "tanh", "sin", "cos", "arctan",
                                    "sinh", "floor", "ceil", "abs", "absolute",
                                    "square", "sign", "negative", "isnan", "isfinite")],
    *[(name, (pos(3, 4),), {}) for name in ("log", "log1p", "log2", "log10", "sqrt")],
    *[(name, (unit(5),), {}) for name in ("arcsin", "arccos", "arctanh")],
    ("arccosh", (pos(4) + 1.0,), {}),
    ("sqrt", (np.array([1, 4, 9], dtype="int32"),), {}),
    ("exp", (ints(3),), {}),
    ("square", (ints(3),), {}),
    ("abs", (ints(3),), {}),
    ("sign", (ints(3),), {}),
    ("arctan2", (A, B), {}),
    ("round", (np.array([0.5, 1.5, 2.5, -0.5, 1.2345], dtype="float32"),), {}),
    ("round", (np.array([1.2345, -2.5551], dtype="float32"),), {"decimals": 2}),
    ("equal", (ints(6), ints(6)), {}),
    ("not_equal", (ints(6), 0), {}),
    ("greater", (A, B), {}),
    ("greater_equal", (A, 0.0), {}),
    ("less", (A, B), {}),
    ("less_equal", (A, B), {}),
    ("logical_and", (A > 0, B > 0), {}),
    ("logical_or", (A > 0, B > 0), {}),
    ("logical_xor", (A > 0, B > 0), {}),
    ("logical_not", (A > 0,), {}),
    ("where", (A > 0, A, B), {}),
    ("where", (A > 0, A, 0.0), {}),
    ("sum", (A,), {}),
    ("sum", (A,), {"axis": 1}),
    ("sum", (A,), {"axis": (0, 1), "keepdims": True}),
    ("sum", (ints(3, 4),), {"axis": 0}),
    ("mean", (A,), {"axis": -1}),
    ("mean", (ints(4),), {}),
    ("max", (A,), {"axis": 0}),
    ("max", (ints(3, 4),), {}),
    ("min", (A,), {"axis": 1, "keepdims": True}),
    ("prod", (A,), {"axis": 1}),
    ("prod", (ints(3),), {}),
    ("var", (A,), {"axis": 0}),
    ("std", (A,), {}),
    ("any", (A > 1,), {"axis": 1}),
    ("all", (A > -1,), {}),
    ("argmax", (A,), {"axis": 1}),
    ("argmax", (A,), {}),
    ("argmin", (A,), {"axis": 0}),
    ("cumsum", (A,), {"axis": 1}),
    ("cumsum", (ints(2, 3),), {}),
    ("cumprod", (A,), {"axis": 0}),
    ("average", (A,), {"axis": 1, "weights": pos(4)}),
    ("average", (A,), {}),
    ("count_nonzero", (ints(3, 4),), {"axis": 1}),
    ("erf", (A,), {}),
    ("erfinv", (unit(5),), {}),
    ("isclose", (A, A + 1e-7), {}),
    ("nan_to_num", (np.array([np.nan, np.inf, 1.0], dtype="float32"),), {"posinf": 9.0}),
]


def _assert_same(got, want, name):
    if isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w, name)
        return
    assert isinstance(got, torch.Tensor), f"{name} returned {type(got).__name__}"
    want = keras.ops.convert_to_tensor(want)
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != keras {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{name}: shape {tuple(got.shape)}"
    np.testing.assert_allclose(
        ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), rtol=1e-5, atol=1e-6,
        err_msg=name)


@pytest.mark.parametrize("name,args,kwargs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras_ops(name, args, kwargs):
    got = getattr(ops, name)(*args, **kwargs)
    want = getattr(keras.ops, name)(*args, **kwargs)
    _assert_same(got, want, name)


def test_accepts_variables_and_scalars():
    var = kiln.Variable(np.array([1.0, -2.0], dtype="float32"))
    out = ops.add(var, 1)
    assert isinstance(out, torch.Tensor)
    assert out.tolist() == [2.0, -1.0]
    assert ops.multiply(2, 3).dtype == torch.int32
    assert ops.add(1, 2.5).dtype == torch.float32
    assert ops.add(torch.ones(2, dtype=torch.float16), 1.5).dtype == torch.float16


def test_gradients_flow_through_ops():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    ops.sum(ops.square(x)).backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_where_single_argument_returns_indices():
    rows, cols = ops.where(np.array([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]


def test_where_rejects_one_branch():
    with pytest.raises(ValueError, match="both"):
        ops.where([True], 1.0)


def test_max_with_keepdims_and_no_axis_keeps_rank():
    assert ops.max(np.ones((2, 3)), keepdims=True).shape == (1, 1)
    assert ops.max(np.ones((2, 3)), initial=5.0).item() == 5.0
