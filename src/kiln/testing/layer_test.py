"""`run_layer_test`: the standard checks every layer must pass, save/load included."""

import json
import os
import tempfile

import numpy as np


def _random_input(shape, dtype, rng):
    if isinstance(shape, dict):
        return {k: _random_input(v, dtype, rng) for k, v in shape.items()}
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [_random_input(s, dtype, rng) for s in shape]
    if dtype.startswith("int"):
        return rng.integers(0, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _shapes(x):
    if isinstance(x, (list, tuple)):
        return [_shapes(v) for v in x]
    if isinstance(x, dict):
        return {k: _shapes(v) for k, v in x.items()}
    return tuple(x.shape)


def _assert_close(a, b, atol):
    if isinstance(a, (list, tuple)):
        for x, y in zip(a, b):
            _assert_close(x, y, atol)
    elif isinstance(a, dict):
        for k in a:
            _assert_close(a[k], b[k], atol)
    else:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=atol)


def run_layer_test(layer_cls, init_kwargs=None, input_shape=None, input_dtype="float32",
                   input_data=None, call_kwargs=None, expected_output_shape=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                   run_symbolic=True, run_save_load=True, atol=1e-6, custom_objects=None):
    """Builds `layer_cls(**init_kwargs)`, calls it eagerly and symbolically, round-trips its
    config, and saves a one-layer model to a `.keras` file and back.

    Example:
        >>> run_layer_test(kiln.layers.Dense, init_kwargs={"units": 4}, input_shape=(2, 3),
        ...                expected_output_shape=(2, 4), expected_num_trainable_weights=2)
    """
    from kiln.layers.core.input_layer import Input
    from kiln.models.functional import Functional

    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    rng = np.random.default_rng(0)
    if input_data is None:
        input_data = _random_input(input_shape, input_dtype, rng)
    else:
        input_shape = _shapes(input_data)

    # Config round trip before build.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    json.dumps(config)
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config, (revived.get_config(), config)

    # Eager call.
    output = layer(input_data, **call_kwargs)
    assert layer.built, f"{layer_cls.__name__} is not built after its first call"
    if expected_output_shape is not None:
        assert _shapes(output) == _as_shapes(expected_output_shape), (
            f"output shape {_shapes(output)} != expected {expected_output_shape}")
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    for v in layer.trainable_weights:
        assert any(p is v.value for p in layer.parameters()), f"{v.path} not in parameters()"

    # Config round trip after build, same weights → same outputs.
    clone = layer_cls.from_config(layer.get_config())
    clone(input_data, **call_kwargs)
    clone.set_weights(layer.get_weights())
    _assert_close(clone(input_data, **call_kwargs), output, atol)

    # Symbolic call: same shapes with an unknown batch dimension.
    if run_symbolic:
        symbolic_layer = layer_cls(**init_kwargs)
        inputs = _symbolic_inputs(input_shape, input_dtype, Input)
        sym_out = symbolic_layer(inputs, **call_kwargs)
        if expected_output_shape is not None:
            exp = _as_shapes(expected_output_shape)
            got = _shapes_sym(sym_out)
            assert _batchless(got) == _batchless(exp), f"symbolic shape {got} != {exp}"

    # Whole-model save/load round trip.
    if run_save_load:
        inputs = _symbolic_inputs(input_shape, input_dtype, Input)
        layer2 = layer_cls(**init_kwargs)
        model = Functional(inputs, layer2(inputs, **call_kwargs))
        expected = model(input_data)
        from kiln import saving

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "layer.keras")
            model.save(path)
            loaded = saving.load_model(path, custom_objects=custom_objects)
        _assert_close(loaded(input_data), expected, atol)
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)
    return layer


def _as_shapes(s):
    if isinstance(s, list):
        return [tuple(x) for x in s]
    return tuple(s)


def _shapes_sym(x):
    if isinstance(x, (list, tuple)):
        return [tuple(v.shape) for v in x]
    return tuple(x.shape)


def _batchless(s):
    if isinstance(s, list):
        return [tuple(x)[1:] for x in s]
    return tuple(s)[1:]


def _symbolic_inputs(shape, dtype, Input):
    if isinstance(shape, dict):
        return {k: Input(batch_shape=(None,) + tuple(v)[1:], dtype=dtype, name=k)
                for k, v in shape.items()}
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [Input(batch_shape=(None,) + tuple(s)[1:], dtype=dtype) for s in shape]
    return Input(batch_shape=(None,) + tuple(shape)[1:], dtype=dtype)

