"""Test helpers comparing kiln losses and metrics against real Keras 3 (test-only).

Imported only by `*_test.py` files; it imports Keras (with the torch backend), which
is a test dependency, never a runtime one.
"""

import os

import numpy as np
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(keras.ops.convert_to_numpy(x))


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, what=""):
    actual, expected = to_numpy(actual), to_numpy(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != keras {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def check_loss_against_keras(kiln_cls, keras_cls, kwargs, y_true, y_pred, sample_weights=(),
                             reductions=REDUCTIONS, rtol=1e-5, atol=1e-6):
    """Same inputs into the kiln and Keras loss: same value for every reduction and weight."""
    for reduction in reductions:
        ours = kiln_cls(reduction=reduction, **kwargs)
        theirs = keras_cls(reduction=reduction, **kwargs)
        for sw in (None, *sample_weights):
            what = f"{kiln_cls.__name__}({kwargs}, reduction={reduction}, sw={None if sw is None else np.shape(sw)})"
            assert_close(ours(y_true, y_pred, sample_weight=sw),
                         theirs(y_true, y_pred, sample_weight=sw), rtol, atol, what)


def check_config_against_keras(kiln_cls, keras_cls, kwargs=None):
    """Same config dict as Keras, and `from_config` rebuilds an equal config."""
    kwargs = kwargs or {}
    ours, theirs = kiln_cls(**kwargs), keras_cls(**kwargs)
    config = ours.get_config()
    assert config == theirs.get_config(), f"{kiln_cls.__name__} config differs from Keras"
    assert kiln_cls.from_config(config).get_config() == config
    # A Keras-written config must load into kiln (and vice versa).
    assert kiln_cls.from_config(theirs.get_config()).get_config() == config
    assert keras_cls.from_config(config).get_config() == theirs.get_config()


def rng(seed=0):
    return np.random.default_rng(seed)
