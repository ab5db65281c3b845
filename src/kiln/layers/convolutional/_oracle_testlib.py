"""Test helper comparing a kiln layer with the same layer of real Keras 3 (test-only).

Imported only by `*_test.py` files of the convolutional, pooling and reshaping layers; it
imports Keras (torch backend), a test dependency, never a runtime one.
"""

import json
import os

import numpy as np
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402

import kiln  # noqa: E402


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(keras.ops.convert_to_numpy(x))


def _config_json(layer):
    config = json.loads(json.dumps(layer.get_config()))
    config.pop("name")
    return config


def check_against_keras(class_name, init_kwargs, input_shape, call_kwargs=None, atol=1e-5,
                        seed=0, expected=None):
    """Builds `keras.layers.<class_name>` and `kiln.layers.<class_name>` with the same
    arguments and checks that they agree.

    Checked: weight names, shapes and order; outputs on random inputs with Keras's
    (randomised) weights copied in; `compute_output_shape` (also with an unknown batch
    size); `get_config()` keys, order and values (after JSON); the config round trip
    through `from_config`, and Keras accepting kiln's config. `expected`, when given, is a
    function `(inputs) -> array` used instead of Keras's output (for documented
    divergences of Keras's torch backend from Keras's own semantics).
    Returns the kiln layer.
    """
    call_kwargs = dict(call_kwargs or {})
    rng = np.random.default_rng(seed)
    theirs = getattr(keras.layers, class_name)(**init_kwargs)
    ours = getattr(kiln.layers, class_name)(**init_kwargs)
    x = rng.standard_normal(input_shape).astype("float32")

    theirs.build(input_shape)
    for v in theirs.weights:  # non-trivial weights, biases included
        v.assign(rng.standard_normal(tuple(v.shape)).astype("float32") * 0.5)
    want = to_numpy(theirs(x, **call_kwargs)) if expected is None else expected(x)

    ours(x, **call_kwargs)  # builds
    assert [(v.name, tuple(v.shape)) for v in ours.weights] == [
        (v.name, tuple(v.shape)) for v in theirs.weights]
    assert [v.trainable for v in ours.weights] == [v.trainable for v in theirs.weights]
    ours.set_weights([np.asarray(to_numpy(w)) for w in theirs.get_weights()])
    got = to_numpy(ours(x, **call_kwargs))
    assert got.shape == want.shape, f"{class_name}: shape {got.shape} != keras {want.shape}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5, err_msg=class_name)

    assert tuple(ours.compute_output_shape(input_shape)) == tuple(got.shape)
    unknown_batch = (None,) + tuple(input_shape[1:])
    assert tuple(ours.compute_output_shape(unknown_batch)) == tuple(
        theirs.compute_output_shape(unknown_batch))

    config = _config_json(ours)
    keras_config = _config_json(theirs)
    assert list(config) == list(keras_config), (list(config), list(keras_config))
    assert config == keras_config
    revived = type(ours).from_config(ours.get_config())
    assert _config_json(revived) == config
    assert _config_json(type(theirs).from_config(ours.get_config())) == keras_config
    return ours


def symbolic_output_shape(layer, input_shape):
    """Output shape of `layer` called on a `kiln.Input` with an unknown batch size."""
    inputs = kiln.layers.Input(batch_shape=(None,) + tuple(input_shape[1:]))
    return tuple(layer(inputs).shape)
