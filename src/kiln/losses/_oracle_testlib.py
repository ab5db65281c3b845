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


def check_metric_against_keras(ours, theirs, batches, rtol=1e-5, atol=1e-6):
    """Feeds the same batches to a kiln and a Keras metric; compares state and results.

    `batches` is a list of argument tuples for `update_state` (the last element may be
    a dict of keyword arguments). Variables must match by path, shape, dtype and value
    after every batch; the result must match too; `reset_state` must zero both.
    """
    for i, args in enumerate(batches):
        kwargs = {}
        if args and isinstance(args[-1], dict):
            args, kwargs = args[:-1], args[-1]
        ours.update_state(*args, **kwargs)
        theirs.update_state(*args, **kwargs)
        what = f"{type(ours).__name__} after batch {i}"
        assert_close(ours.result(), theirs.result(), rtol, atol, what)
        check_metric_variables(ours, theirs, rtol, atol, what)
    ours.reset_state()
    theirs.reset_state()
    check_metric_variables(ours, theirs, rtol, atol, f"{type(ours).__name__} after reset")


def check_metric_variables(ours, theirs, rtol=1e-5, atol=1e-6, what=""):
    ours_v, theirs_v = ours.variables, theirs.variables
    assert [v.path for v in ours_v] == [v.path for v in theirs_v], what
    for a, b in zip(ours_v, theirs_v):
        assert tuple(a.shape) == tuple(b.shape), f"{what}: {a.path} shape"
        assert a.dtype == b.dtype, f"{what}: {a.path} dtype {a.dtype} != {b.dtype}"
        assert a.trainable is False
        assert_close(a.numpy(), b.numpy(), rtol, atol, f"{what}: {a.path}")


def check_metric_config_against_keras(kiln_cls, keras_cls, kwargs=None):
    """Same config dict as Keras; configs load across libraries and round-trip."""
    kwargs = kwargs or {}
    ours, theirs = kiln_cls(**kwargs), keras_cls(**kwargs)
    config, keras_config = ours.get_config(), theirs.get_config()
    # Default names of unnamed metrics carry a per-process counter (auc, auc_1, ...).
    if "name" not in kwargs and "name" in config:
        config["name"] = keras_config["name"] = "n"
    assert config == keras_config, f"{kiln_cls.__name__}: {config} != keras {keras_config}"
    assert kiln_cls.from_config(config).get_config() == config
    assert kiln_cls.from_config(keras_config).get_config() == config
    assert keras_cls.from_config(config).get_config() == keras_config
