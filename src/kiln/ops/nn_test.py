"""kiln.ops neural-network and linear-algebra ops against keras.ops (torch backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from kiln import ops  # noqa: E402

RNG = np.random.default_rng(2)
X = (RNG.standard_normal((3, 5)) * 3).astype("float32")
X3 = RNG.standard_normal((2, 3, 4)).astype("float32")
SPD = (lambda a: a @ a.T + 4 * np.eye(4, dtype="float32"))(RNG.standard_normal((4, 4)).astype("float32"))

CASES = [
    *[(name, (X,), {}) for name in (
        "relu", "relu6", "sigmoid", "tanh", "softplus", "softsign", "silu", "swish",
        "log_sigmoid", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "elu", "selu",
        "celu", "gelu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink",
        "sparse_sigmoid", "sparse_plus", "squareplus", "softmax", "log_softmax")],
    ("relu", (np.array([1, -2], "int32"),), {}),
    ("relu6", (np.array([1, -2, 7], "int32"),), {}),
    ("hard_tanh", (np.array([1, -2, 7], "int32"),), {}),
    ("sigmoid", (np.array([1, -2, 7], "int32"),), {}),
    ("gelu", (X,), {"approximate": False}),
    ("elu", (X,), {"alpha": 0.5}),
    ("leaky_relu", (X,), {"negative_slope": 0.1}),
    ("celu", (X,), {"alpha": 2.0}),
    ("glu", (np.concatenate([X, X[:, :1]], 1),), {}),
    ("threshold", (X, 0.5, -1.0), {}),
    ("squareplus", (X,), {"b": 2}),
    ("softmax", (X3,), {"axis": 1}),
    ("softmax", (X3,), {"axis": (0, 2)}),
    ("softmax", (X3,), {"axis": None}),
    ("log_softmax", (X3,), {"axis": 0}),
    ("one_hot", (np.array([0, 2, -1, 1]), 3), {}),
    ("one_hot", (np.array([[0, 2], [1, 1]]), 3), {"axis": 0}),
    ("one_hot", (np.array([0, 2]), 3), {"dtype": "int32"}),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
    ("normalize", (X,), {}),
    ("normalize", (X,), {"axis": 0, "order": 1}),
    ("moments", (X3, (0, 1)), {}),
    ("moments", (X3, -1), {"keepdims": True}),
    ("batch_normalization", (X, np.ones(5, "float32"), np.full(5, 2.0, "float32")),
     {"axis": 1, "offset": np.zeros(5, "float32"), "scale": np.full(5, 3.0, "float32")}),
    ("norm", (X,), {}),
    ("norm", (X,), {"axis": 1}),
    ("norm", (X,), {"axis": 0, "ord": 1}),
    ("norm", (X,), {"ord": "fro"}),
    ("norm", (X,), {"ord": "nuc"}),
    ("norm", (X3,), {"axis": (1, 2), "keepdims": True}),
    ("norm", (X[0],), {"ord": np.inf}),
    ("det", (SPD,), {}),
    ("inv", (SPD,), {}),
    ("cholesky", (SPD,), {}),
    ("solve", (SPD, X[:, :4].T), {}),
    ("logsumexp", (X,), {}),
    ("logsumexp", (X,), {"axis": 1, "keepdims": True}),
    ("in_top_k", (np.array([0, 3, 4]), X, 2), {}),
    ("segment_sum", (X, np.array([0, 0, 2])), {"num_segments": 3}),
    ("segment_max", (X, np.array([1, 0, 1])), {}),
    ("erf", (X,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras_ops(name, args, kwargs):
    got = getattr(ops, name)(*args, **kwargs)
    want = getattr(keras.ops, name)(*args, **kwargs)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want, strict=True):
        w = keras.ops.convert_to_tensor(w)
        assert g.dtype == w.dtype, f"{name}: dtype {g.dtype} != keras {w.dtype}"
        assert tuple(g.shape) == tuple(w.shape), name
        np.testing.assert_allclose(ops.convert_to_numpy(g), keras.ops.convert_to_numpy(w),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def _sparsemax_reference(z):
    """Sparsemax on the last axis, straight from Martins & Astudillo (2016), Alg. 1."""
    out = np.empty_like(z)
    for i, row in enumerate(z):
        s = np.sort(row)[::-1]
        cs = np.cumsum(s)
        k = np.arange(1, len(row) + 1)
        support = k[1 + k * s > cs].max()
        tau = (cs[support - 1] - 1) / support
        out[i] = np.maximum(row - tau, 0)
    return out


def test_sparsemax_is_a_projection_onto_the_simplex():
    # keras.ops.sparsemax on torch (3.15.1) does not sum to one, so it is no oracle here.
    got = ops.sparsemax(X).numpy()
    np.testing.assert_allclose(got, _sparsemax_reference(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-5)
    got0 = ops.sparsemax(X.T, axis=0).numpy()
    np.testing.assert_allclose(got0, _sparsemax_reference(X).T, rtol=1e-5, atol=1e-6)


def test_qr_reconstructs_input():
    q, r = ops.qr(X.T)
    np.testing.assert_allclose((q @ r).numpy(), X.T, atol=1e-5)
    np.testing.assert_allclose((q.T @ q).numpy(), np.eye(3), atol=1e-5)


def test_gelu_default_is_approximate():
    x = np.array([0.5], "float32")
    assert ops.gelu(x).item() == pytest.approx(ops.gelu(x, approximate=True).item())
    assert ops.gelu(x).item() != ops.gelu(x, approximate=False).item()


def test_softmax_keeps_half_precision_dtype():
    out = ops.softmax(torch.ones(4, dtype=torch.float16))
    assert out.dtype == torch.float16
    np.testing.assert_allclose(out.float().numpy(), 0.25)


def test_one_hot_rejects_sparse():
    with pytest.raises(ValueError, match="sparse"):
        ops.one_hot([0], 2, sparse=True)
