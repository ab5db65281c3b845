import os
import tempfile

import numpy as np
import pytest

import kiln
from kiln import layers, saving
from kiln.errors import UnsafeDeserializationError
from kiln.layers import _oracle_testlib as oracle

def double(x):
    return x * 2


def _unsafe_allowed():
    from kiln.saving import serialization_safety

    return serialization_safety.safe_mode_scope(False)


def test_lambda_config_is_keras_bytecode_format():
    keras = oracle.keras()
    fn = lambda x, y=2.0: x * 3 + y  # noqa: E731 -- the very object under test
    ours = layers.Lambda(fn, output_shape=(4,), name="lam")
    theirs = keras.layers.Lambda(fn, output_shape=(4,), name="lam")
    oracle.assert_same_config(ours, theirs)
    config = ours.get_config()
    assert config["function"]["class_name"] == "__lambda__"
    assert set(config["function"]["config"]) == {"code", "defaults", "closure"}
    x = oracle.random((2, 4))
    oracle.assert_close(ours(x), theirs(x))


def test_named_function_config_matches_keras():
    keras = oracle.keras()
    ours = layers.Lambda(double, arguments={}, name="lam")
    theirs = keras.layers.Lambda(double, name="lam")
    oracle.assert_same_config(ours, theirs)


def test_from_config_refuses_bytecode_in_safe_mode():
    config = layers.Lambda(lambda x: x + 1).get_config()
    with pytest.raises(UnsafeDeserializationError) as info:
        layers.Lambda.from_config(config)
    message = str(info.value)
    assert "safe_mode=False" in message
    assert "enable_unsafe_deserialization()" in message
    assert "executes code" in message


def test_keras_written_lambda_loads_when_unsafe_allowed():
    keras = oracle.keras()
    scale = 3.0  # a closure variable travels with the bytecode; module globals do not
    theirs = keras.layers.Lambda(lambda x, offset=5.0: x * scale + offset)
    config = theirs.get_config()
    layer = layers.Lambda.from_config(config, safe_mode=False)
    np.testing.assert_allclose(layer(np.ones((1, 2), "float32")).numpy(), [[8.0, 8.0]])
    with _unsafe_allowed():
        again = layers.Lambda.from_config(config)
    assert again(np.zeros((1,), "float32")).item() == 5.0


def test_model_with_lambda_round_trips_only_with_safe_mode_off():
    inputs = kiln.Input((3,))
    model = kiln.Model(inputs, layers.Lambda(lambda t: t * 2 + 1)(inputs))
    x = oracle.random((2, 3))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lam.keras")
        model.save(path)
        with pytest.raises(Exception, match="safe_mode=False"):
            saving.load_model(path)
        loaded = saving.load_model(path, safe_mode=False)
    np.testing.assert_allclose(loaded(x).numpy(), x * 2 + 1, rtol=1e-6)


def test_registered_function_round_trips_in_safe_mode():
    @saving.register_keras_serializable(package="LambdaTest")
    def triple(x):
        return x * 3

    layer = layers.Lambda(triple, output_shape=(2,), arguments={})
    config = layer.get_config()
    assert config["function"]["config"] == "LambdaTest>triple"
    revived = layers.Lambda.from_config(config)
    assert revived.function is triple
    assert revived.compute_output_shape((None, 2)) == (None, 2)


def test_arguments_mask_and_training_are_passed():
    def fn(x, mask=None, training=None, k=1.0):
        return x * k + (1.0 if training else 0.0)

    layer = layers.Lambda(fn, arguments={"k": 2.0})
    assert layer(np.ones((1,), "float32"), training=True).item() == 3.0
    assert layer(np.ones((1,), "float32")).item() == 2.0


def test_symbolic_shape_inference_and_explicit_output_shape():
    inputs = kiln.Input((4, 3))
    assert layers.Lambda(lambda t: t[:, 0])(inputs).shape == (None, 3)
    assert layers.Lambda(lambda t: t, output_shape=(12,))(inputs).shape == (None, 12)
    assert layers.Lambda(lambda t: t, output_shape=lambda s: (s[0], 7))(inputs).shape == (None, 7)
