import json

import kiln
from kiln.saving import keras_compat, serialize_keras_object


def test_default_valued_new_keys_are_dropped_and_others_kept():
    inp = kiln.Input((4,))
    out = kiln.layers.Dense(2, kernel_initializer=kiln.initializers.GlorotUniform(seed=3))(inp)
    config = serialize_keras_object(kiln.Model(inp, out))
    stripped = keras_compat.strip_new_defaults(config)
    text = json.dumps(stripped)
    assert "quantization_config" not in text and "input_axes" not in text
    dense = stripped["config"]["layers"][1]["config"]
    assert dense["units"] == 2 and dense["kernel_initializer"]["config"] == {"seed": 3}
    # The original config is untouched, and the stripped one rebuilds the same model.
    assert "quantization_config" in json.dumps(config)
    rebuilt = kiln.saving.deserialize_keras_object(stripped)
    assert rebuilt.get_config()["layers"][1]["config"]["quantization_config"] is None


def test_non_default_values_are_kept():
    config = {"module": "keras.layers", "class_name": "MultiHeadAttention",
              "config": {"use_gate": True, "sliding_window": None}}
    assert keras_compat.strip_new_defaults(config)["config"] == {"use_gate": True}
