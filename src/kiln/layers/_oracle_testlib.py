"""Test-only helpers comparing kiln layers with real Keras 3 (the oracle, torch backend).

Not imported by kiln itself; layer tests import it. Keras is imported lazily with
`KERAS_BACKEND=torch` so tests never touch another backend.
"""

import json
import os

import numpy as np


def keras():
    """The oracle `keras` module, on the torch backend."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as oracle

    assert oracle.backend.backend() == "torch", "run the tests with KERAS_BACKEND=torch"
    return oracle


def to_numpy(x):
    """A numpy copy of a kiln/Keras/torch tensor (or a list of them)."""
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_same_config(kiln_layer, keras_layer, skip=()):
    """Both configs serialize to the same JSON (same keys, values and key order).

    `skip` lists keys to leave out, each with its reason given at the call site.
    """
    ours, theirs = kiln_layer.get_config(), keras_layer.get_config()
    for key in skip:
        ours.pop(key, None)
        theirs.pop(key, None)
    assert json.dumps(ours) == json.dumps(theirs), (
        f"config mismatch\n kiln:  {json.dumps(ours)}\n keras: {json.dumps(theirs)}")


def assert_same_weights_layout(kiln_layer, keras_layer):
    """Same variables in the same order with the same paths, shapes and trainability."""
    ours = [(v.path, tuple(v.shape), bool(v.trainable)) for v in kiln_layer.weights]
    theirs = [(v.path, tuple(v.shape), bool(v.trainable)) for v in keras_layer.weights]
    assert ours == theirs, f"weights differ\n kiln:  {ours}\n keras: {theirs}"


def copy_weights(kiln_layer, keras_layer):
    kiln_layer.set_weights([np.asarray(w) for w in keras_layer.get_weights()])


def assert_close(kiln_out, keras_out, atol=1e-5):
    ours, theirs = to_numpy(kiln_out), to_numpy(keras_out)
    if isinstance(ours, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, atol=atol, rtol=atol)
    else:
        assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
        np.testing.assert_allclose(ours, theirs, atol=atol, rtol=atol)


def random(shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
