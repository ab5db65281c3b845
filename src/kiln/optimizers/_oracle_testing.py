"""Test helpers: run a kiln optimizer and real Keras 3 side by side and compare.

Only the `*_test.py` files beside this module import it. Keras is imported lazily and
must run on the torch backend (`KERAS_BACKEND=torch`).
"""

import os
import re
import warnings

import numpy as np
import torch

import kiln

SHAPES = ((3, 4), (4,), (2, 2, 2))


def keras_module():
    if os.environ.get("KERAS_BACKEND") != "torch":
        raise RuntimeError("Oracle tests need KERAS_BACKEND=torch in the environment.")
    import keras

    return keras


def _data(steps, shapes, seed, none_grads):
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(s).astype("float32") for s in shapes]
    grads = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(steps)]
    for step, index in none_grads:
        grads[step][index] = None
    return initial, grads


def _to_torch(grads):
    return [None if g is None else torch.tensor(g) for g in grads]


def run_both(kiln_cls, keras_name, kwargs=None, steps=5, shapes=SHAPES, seed=0,
             none_grads=(), learning_rates=None, exclude_names=None, finalize=False):
    """Applies the same gradients with kiln and Keras; returns both (variables, optimizer).

    Args:
        learning_rates: Optional `(keras_value, kiln_value)` for `learning_rate`
            (schedules must be built separately for each library).
        none_grads: `(step, index)` pairs whose gradient is None.
        exclude_names: Passed to `exclude_from_weight_decay(var_names=...)` on both.
        finalize: Call `finalize_variable_values` at the end (EMA).
    """
    keras = keras_module()
    kwargs = dict(kwargs or {}, name="opt")
    keras_kwargs, kiln_kwargs = dict(kwargs), dict(kwargs)
    if learning_rates is not None:
        keras_kwargs["learning_rate"], kiln_kwargs["learning_rate"] = learning_rates
    initial, grads = _data(steps, shapes, seed, none_grads)
    keras_vars = [keras.Variable(x, name=f"w{i}") for i, x in enumerate(initial)]
    kiln_vars = [kiln.Variable(x, name=f"w{i}") for i, x in enumerate(initial)]
    keras_opt = getattr(keras.optimizers, keras_name)(**keras_kwargs)
    kiln_opt = kiln_cls(**kiln_kwargs)
    if exclude_names:
        keras_opt.exclude_from_weight_decay(var_names=exclude_names)
        kiln_opt.exclude_from_weight_decay(var_names=exclude_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step_grads in grads:
            keras_opt.apply(_to_torch(step_grads), keras_vars)
            kiln_opt.apply(_to_torch(step_grads), kiln_vars)
    if finalize:
        keras_opt.finalize_variable_values(keras_vars)
        kiln_opt.finalize_variable_values(kiln_vars)
    return (keras_vars, keras_opt), (kiln_vars, kiln_opt)


def assert_same_state(keras_run, kiln_run, atol=1e-5):
    """Model variables and every optimizer variable (order, path, shape, dtype, value) match."""
    (keras_vars, keras_opt), (kiln_vars, kiln_opt) = keras_run, kiln_run
    for k, m in zip(keras_vars, kiln_vars):
        np.testing.assert_allclose(m.numpy(), np.asarray(k.numpy()), rtol=atol, atol=atol,
                                   err_msg=f"model variable {m.name}")
    keras_paths = [_comparable_path(v.path) for v in keras_opt.variables]
    kiln_paths = [_comparable_path(v.path) for v in kiln_opt.variables]
    assert kiln_paths == keras_paths
    for k, m in zip(keras_opt.variables, kiln_opt.variables):
        assert m.shape == tuple(k.shape), m.path
        assert m.dtype == k.dtype, m.path
        assert not m.trainable, m.path
        np.testing.assert_allclose(m.numpy(), np.asarray(k.numpy()), rtol=atol, atol=atol,
                                   err_msg=f"optimizer variable {m.path}")


def _comparable_path(path):
    # Unnamed variables (Nadam's momentum-schedule product) get session-dependent numbers.
    return re.sub(r"(^|/)variable(_\d+)?$", r"\1variable", path)


def check_against_keras(kiln_cls, keras_name, kwargs=None, **options):
    keras_run, kiln_run = run_both(kiln_cls, keras_name, kwargs, **options)
    assert_same_state(keras_run, kiln_run)
    return keras_run, kiln_run


def keras_config(keras_name, kwargs=None):
    keras = keras_module()
    return getattr(keras.optimizers, keras_name)(**dict(kwargs or {}, name="opt")).get_config()


def check_config_against_keras(kiln_cls, keras_name, kwargs=None):
    """`get_config()` equals Keras's exactly (keys, order, values and their types)."""
    expected = keras_config(keras_name, kwargs)
    actual = kiln_cls(**dict(kwargs or {}, name="opt")).get_config()
    assert list(actual) == list(expected)
    assert actual == expected
    assert [type(v) for v in actual.values()] == [type(v) for v in expected.values()]
    restored = kiln_cls.from_config(actual)
    assert restored.get_config() == actual


STEPS = (0, 1, 2, 5, 9, 10, 11, 17, 25, 40, 63, 100, 1000)


def check_schedule_against_keras(kiln_cls, keras_name, kwargs, steps=STEPS):
    """Values at `steps` (as ints, int32 tensors and Variables) and `get_config()` match."""
    keras = keras_module()
    keras_schedule = getattr(keras.optimizers.schedules, keras_name)(**kwargs)
    kiln_schedule = kiln_cls(**kwargs)
    for step in steps:
        expected = float(keras_schedule(step))
        for given in (step, torch.tensor(step, dtype=torch.int32),
                      kiln.Variable(np.int32(step), dtype="int32")):
            actual = kiln_schedule(given)
            assert isinstance(actual, torch.Tensor)
            np.testing.assert_allclose(float(actual), expected, rtol=1e-6, atol=1e-7,
                                       err_msg=f"{keras_name}{kwargs} at step {step}")
    assert kiln_schedule.get_config() == keras_schedule.get_config()
    assert list(kiln_schedule.get_config()) == list(keras_schedule.get_config())
    restored = kiln_cls.from_config(kiln_schedule.get_config())
    assert restored.get_config() == kiln_schedule.get_config()
    return kiln_schedule
