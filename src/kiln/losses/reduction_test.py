import numpy as np
import pytest
import torch

from kiln.losses import reduction
from kiln.losses._oracle_testlib import assert_close


def test_squeeze_or_expand_matches_keras():
    from keras.src.losses.loss import squeeze_or_expand_to_same_rank as keras_fn

    shapes = [((4,), (4, 1)), ((4, 1), (4,)), ((4, 3), (4,)), ((4, 3, 1), (4, 3)), ((4, 1), (4, 1)),
              ((2, 3, 1), (2, 3))]
    for a, b in shapes:
        for expand in (True, False):
            ours = reduction.squeeze_or_expand_to_same_rank(torch.zeros(a), torch.zeros(b), expand)
            theirs = keras_fn(torch.zeros(a), torch.zeros(b), expand)
            assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for t in theirs], (a, b, expand)


@pytest.mark.parametrize("red", reduction.REDUCTIONS)
def test_reduce_weighted_values_matches_keras(red):
    from keras.src.losses.loss import reduce_weighted_values as keras_fn

    values = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    # (Keras multiplies weights by the mask in place, so they must already have its shape.)
    weights = np.random.default_rng(1).uniform(size=(5, 3)).astype("float32")
    weights[1] = 0.0
    mask = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0], [1, 0, 1]], bool)
    for sw, m in ((None, None), (weights, None), (None, mask), (weights, mask)):
        ours = reduction.reduce_weighted_values(values, sw, None if m is None else torch.from_numpy(m), red,
                                                "float32")
        theirs = keras_fn(torch.from_numpy(values), None if sw is None else torch.from_numpy(sw),
                          None if m is None else torch.from_numpy(m), red, "float32")
        assert_close(ours, theirs)


def test_gradient_of_a_fully_masked_mean_is_finite():
    values = torch.ones(3, requires_grad=True)
    out = reduction.reduce_weighted_values(values, mask=torch.zeros(3, dtype=torch.bool))
    out.backward()
    assert float(out.detach()) == 0.0 and torch.isfinite(values.grad).all()
