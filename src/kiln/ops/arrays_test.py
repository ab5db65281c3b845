"""Array creation, shape manipulation, indexing and products against keras.ops and NumPy."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from kiln import ops  # noqa: E402

RNG = np.random.default_rng(1)


def f32(*shape):
    return RNG.standard_normal(shape).astype("float32")


X = f32(2, 3, 4)
M = f32(3, 4)
IDX = np.array([[1, 0], [2, 3]], dtype="int32")

# (name, args, kwargs): compared against keras.ops, values and dtype.
KERAS_CASES = [
    ("zeros", ((2, 3),), {}),
    ("ones", ((2,),), {"dtype": "int32"}),
    ("full", ((2, 2), 3), {}),
    ("full", ((2,), 1.5), {"dtype": "float64"}),
    ("zeros_like", (np.ones(3, dtype="int64"),), {}),
    ("ones_like", (M,), {"dtype": "float16"}),
    ("full_like", (M, 7.0), {}),
    ("arange", (5,), {}),
    ("arange", (1.0, 4.0, 0.5), {}),
    ("arange", (2, 10, 3), {"dtype": "float32"}),
    ("linspace", (0.0, 1.0, 5), {}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {"k": 1}),
    ("identity", (3,), {}),
    ("tri", (3, 4), {"k": -1}),
    ("tril", (M,), {}),
    ("triu", (M,), {"k": 1}),
    ("diag", (np.arange(3, dtype="float32"),), {}),
    ("diagonal", (M,), {"offset": 1}),
    ("trace", (M,), {}),
    ("reshape", (X, (4, -1)), {}),
    ("transpose", (X,), {}),
    ("transpose", (X, (1, 0, 2)), {}),
    ("swapaxes", (X, 0, 2), {}),
    ("moveaxis", (X, 0, -1), {}),
    ("expand_dims", (M, -1), {}),
    ("expand_dims", (M, 0), {}),
    ("squeeze", (np.zeros((1, 3, 1), "float32"),), {}),
    ("squeeze", (np.zeros((1, 3, 1), "float32"),), {"axis": -1}),
    ("ravel", (X,), {}),
    ("broadcast_to", (np.array([1, 2], "int32"), (3, 2)), {}),
    ("concatenate", ([M, M],), {"axis": 1}),
    ("concatenate", ([M, np.ones((1, 4), "float32")],), {}),
    ("stack", ([M, M],), {"axis": -1}),
    ("hstack", ([M, M],), {}),
    ("vstack", ([M, M],), {}),
    ("split", (np.arange(6, dtype="int32"), 3), {}),
    ("split", (X, [1, 3]), {"axis": 2}),
    ("tile", (np.array([1, 2], "int32"), 2), {}),
    ("tile", (M, (2, 1)), {}),
    ("repeat", (np.array([[1, 2], [3, 4]], "int32"), 2), {}),
    ("repeat", (M, 2), {"axis": 0}),
    ("flip", (X,), {}),
    ("flip", (X,), {"axis": 1}),
    ("roll", (M, 2), {"axis": 1}),
    ("roll", (M, 1), {}),
    ("take", (M, IDX), {}),
    ("take", (M, np.array([0, -1], "int32")), {"axis": 1}),
    ("take", (X, np.array([1, 0], "int32")), {"axis": 0}),
    ("take_along_axis", (M, np.argsort(M, axis=1)), {"axis": 1}),
    ("sort", (M,), {}),
    ("sort", (M,), {"axis": 0}),
    ("argsort", (M,), {"axis": -1}),
    ("matmul", (M, f32(4, 5)), {}),
    ("matmul", (X, f32(4, 2)), {}),
    ("dot", (M, f32(4)), {}),
    ("dot", (M, f32(4, 2)), {}),
    ("tensordot", (X, f32(3, 4, 2)), {"axes": 2}),
    ("tensordot", (M, f32(4, 3)), {"axes": ([1, 0], [0, 1])}),
    ("einsum", ("ij,jk->ik", M, f32(4, 2)), {}),
    ("einsum", ("bij->bji", X), {}),
    ("outer", (f32(3), f32(2)), {}),
    ("inner", (M, f32(5, 4)), {}),
    ("cross", (f32(4, 3), f32(4, 3)), {}),
]

# Where keras.ops on torch fails or differs from NumPy (pad modes and int widths,
# N-D dot, N-D vdot), NumPy is the oracle.
NUMPY_CASES = [
    ("pad", (M, ((1, 1), (0, 2))), {}),
    ("pad", (M, 1), {"constant_values": 5.0}),
    ("pad", (M, (1, 2)), {}),
    ("pad", (M, ((2, 1), (1, 2))), {"mode": "reflect"}),
    ("pad", (M, ((2, 1), (1, 2))), {"mode": "symmetric"}),
    ("pad", (M, ((1, 0), (0, 3))), {"mode": "edge"}),
    ("pad", (M, ((1, 0), (2, 5))), {"mode": "wrap"}),
    ("dot", (X, f32(3, 4, 2)), {}),
    ("vdot", (M, M), {}),
]


def _assert_same(got, want, name):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), name
        for g, w in zip(got, want):
            _assert_same(g, w, name)
        return
    assert isinstance(got, torch.Tensor), f"{name} returned {type(got).__name__}"
    want = keras.ops.convert_to_tensor(want)
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != keras {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    np.testing.assert_allclose(ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want),
                               rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("name,args,kwargs", KERAS_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_CASES)])
def test_matches_keras_ops(name, args, kwargs):
    got = getattr(ops, name)(*args, **kwargs)
    want = getattr(keras.ops, name)(*args, **kwargs)
    _assert_same(got, want, name)


@pytest.mark.parametrize("name,args,kwargs", NUMPY_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(NUMPY_CASES)])
def test_matches_numpy(name, args, kwargs):
    got = getattr(ops, name)(*args, **kwargs)
    want = np.asarray(getattr(np, name)(*args, **kwargs))
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_top_k_values_and_int32_indices():
    values, indices = ops.top_k(M, 2)
    np.testing.assert_allclose(values.numpy(), np.sort(M, -1)[:, ::-1][:, :2])
    assert indices.dtype == torch.int32
    np.testing.assert_array_equal(indices.numpy(), np.argsort(-M, -1)[:, :2])


def test_concatenate_axis_none_flattens():
    out = ops.concatenate([np.ones((2, 2)), np.zeros(3)], axis=None)
    assert out.shape == (7,)


def test_split_uneven_sections_is_an_error():
    with pytest.raises(ValueError, match="equal sections"):
        ops.split(np.arange(5), 2)


def test_squeeze_non_unit_axis_is_an_error():
    with pytest.raises(ValueError, match="expected 1"):
        ops.squeeze(np.zeros((2, 1)), axis=0)


def test_pad_rejects_unknown_mode():
    with pytest.raises(ValueError, match="Unsupported pad mode"):
        ops.pad(np.ones(3), 1, mode="mirror")


def test_expand_dims_tuple_axis_like_numpy():
    assert ops.expand_dims(np.ones((2, 3)), (0, 3)).shape == np.expand_dims(np.ones((2, 3)), (0, 3)).shape


def test_take_along_axis_negative_indices():
    x = np.arange(6).reshape(2, 3)
    idx = np.array([[-1], [0]])
    np.testing.assert_array_equal(ops.take_along_axis(x, idx, axis=1).numpy(),
                                  np.take_along_axis(x, idx, axis=1))
