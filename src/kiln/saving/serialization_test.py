import json
import os

import numpy as np
import pytest

import kiln
from kiln.errors import DeserializationError, UnsafeDeserializationError
from kiln.saving import (
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)


@pytest.fixture(autouse=True)
def _clean_registry():
    saved = dict(get_custom_objects())
    yield
    get_custom_objects().clear()
    get_custom_objects().update(saved)


def test_regularizer_envelope_matches_keras_layout():
    config = serialize_keras_object(kiln.regularizers.L1(0.005))
    # Keras stores the float32-rounded factor: {"l1": 0.004999999888241291}.
    assert config == {"module": "keras.regularizers", "class_name": "L1",
                      "config": {"l1": float(np.float32(0.005))}, "registered_name": None}
    assert isinstance(deserialize_keras_object(config), kiln.regularizers.L1)


def test_guide_adam_dict_deserializes():
    opt = deserialize_keras_object({
        "class_name": "Adam",
        "config": {"amsgrad": False, "beta_1": 0.8999999761581421, "beta_2": 0.9990000128746033,
                   "epsilon": 1e-07, "learning_rate": 0.0010000000474974513, "name": "Adam"},
    })
    assert isinstance(opt, kiln.optimizers.Adam)
    assert opt.get_config()["beta_1"] == pytest.approx(0.9)


def test_torch_backend_optimizer_module_maps_to_public_class():
    config = {"module": "keras.src.backend.torch.optimizers.torch_adam", "class_name": "Adam",
              "config": {"learning_rate": 0.01}, "registered_name": "Adam"}
    assert isinstance(deserialize_keras_object(config), kiln.optimizers.Adam)


def test_losses_and_metrics_same_class_name_resolve_by_module():
    loss = deserialize_keras_object({"module": "keras.losses", "class_name": "MeanSquaredError",
                                     "config": {}, "registered_name": None})
    metric = deserialize_keras_object({"module": "keras.metrics",
                                       "class_name": "MeanSquaredError", "config": {},
                                       "registered_name": None})
    assert isinstance(loss, kiln.losses.Loss)
    assert isinstance(metric, kiln.metrics.Metric)


def test_registered_class_and_function_round_trip():
    @register_keras_serializable(package="MyLayers", name="KernelMult")
    class MyDense(kiln.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x ** 2

    assert get_registered_name(MyDense) == "MyLayers>KernelMult"
    assert get_registered_object("my_package>custom_fn") is custom_fn
    config = serialize_keras_object(MyDense(3))
    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["class_name"] == "MyDense"
    revived = deserialize_keras_object(config)
    assert isinstance(revived, MyDense) and revived.units == 3
    fn_config = serialize_keras_object(custom_fn)
    assert fn_config == {"module": "builtins", "class_name": "function",
                         "config": "my_package>custom_fn", "registered_name": "function"}
    assert deserialize_keras_object(fn_config) is custom_fn


def test_registered_name_also_found_through_short_custom_objects_key():
    class Scaler(kiln.layers.Layer):
        def call(self, x):
            return x

    config = {"module": "mylib", "class_name": "Scaler", "config": {"name": "s"},
              "registered_name": "pkg>Scaler"}
    assert isinstance(deserialize_keras_object(config, custom_objects={"Scaler": Scaler}), Scaler)
    with custom_object_scope({"Scaler": Scaler}):
        assert isinstance(deserialize_keras_object(config), Scaler)


@pytest.mark.parametrize("module,name", [
    ("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"),
    ("keras.models", "load_model"), ("keras.config", "enable_unsafe_deserialization"),
    ("keras.src.saving.saving_api", "load_model"), ("keras.utils", "get_file"),
])
def test_file_can_never_name_arbitrary_code(module, name, tmp_path):
    for config in (
        {"module": module, "class_name": name, "config": {}, "registered_name": None},
        {"module": module, "class_name": "function", "config": name, "registered_name": "function"},
    ):
        with pytest.raises(DeserializationError, match=name):
            deserialize_keras_object(config)
    assert os.listdir(tmp_path) == []


def test_nothing_is_constructed_before_the_whole_config_is_checked():
    built = []

    class Probe(kiln.layers.Layer):
        def __init__(self, **kwargs):
            built.append(1)
            super().__init__(**kwargs)

    good = {"module": None, "class_name": "Probe", "config": {}, "registered_name": "Probe"}
    bad = {"module": "os", "class_name": "system", "config": {}, "registered_name": None}
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "s", "layers": [good, good, bad]}}
    with pytest.raises(DeserializationError, match=r"config\.config\.layers\[2\]"):
        deserialize_keras_object(config, custom_objects={"Probe": Probe})
    assert built == []


def test_lambda_bytecode_refused_in_safe_mode_and_error_says_how():
    config = serialize_keras_object(lambda x: x + 1)
    assert config["class_name"] == "__lambda__"
    with pytest.raises(UnsafeDeserializationError, match="safe_mode=False"):
        deserialize_keras_object(config)
    fn = deserialize_keras_object(config, safe_mode=False)
    assert fn(1) == 2


def test_a_file_field_cannot_turn_safe_mode_off():
    config = serialize_keras_object(lambda x: x)
    config["safe_mode"] = False
    config["config"]["safe_mode"] = False
    with pytest.raises(UnsafeDeserializationError):
        deserialize_keras_object(config)


def test_malformed_configs_give_clear_errors_not_crashes():
    deep = {"class_name": "Dense", "config": {}}
    for _ in range(2000):
        deep = {"class_name": "Dense", "config": {"units": 1, "kernel_initializer": deep}}
    with pytest.raises(DeserializationError, match="deeper"):
        deserialize_keras_object(deep)
    with pytest.raises(DeserializationError, match="class_name"):
        deserialize_keras_object({"class_name": 3, "config": {}})
    with pytest.raises(DeserializationError, match="could not locate class 'Nope'"):
        deserialize_keras_object({"module": "keras.layers", "class_name": "Nope", "config": {}})


def test_error_message_explains_registration():
    with pytest.raises(DeserializationError) as info:
        deserialize_keras_object({"module": "mylib.layers", "class_name": "Custom",
                                  "config": {}, "registered_name": "MyPkg>Custom"})
    assert "@kiln.saving.register_keras_serializable(package=\"MyPkg\")" in str(info.value)


def test_numpy_slice_ellipsis_bytes_round_trip():
    value = {"a": np.arange(3), "s": slice(1, 5, 2), "e": Ellipsis, "b": b"\x00\xff"}
    config = json.loads(json.dumps(serialize_keras_object(value)))
    back = deserialize_keras_object(config)
    np.testing.assert_array_equal(back["a"], np.arange(3))
    assert back["s"] == slice(1, 5, 2) and back["e"] is Ellipsis and back["b"] == b"\x00\xff"


def test_class_object_cannot_be_serialized():
    with pytest.raises(TypeError):
        serialize_keras_object(kiln.layers.Dense)


def test_envelopes_a_get_config_builds_are_kept_and_raw_objects_still_serialized():
    class Holder:
        def __init__(self):
            self.init = kiln.initializers.RandomNormal(stddev=0.5)

        def get_config(self):
            scratch = kiln.initializers.serialize(kiln.initializers.Zeros())  # dropped
            del scratch
            return {"built": kiln.initializers.serialize(self.init),
                    "raw": self.init,  # an object: must still become an envelope
                    "nested": {"value": np.float32(2.0), "list": [self.init]}}

    config = serialize_keras_object(Holder())["config"]
    envelope = serialize_keras_object(kiln.initializers.RandomNormal(stddev=0.5))
    assert config["built"] == envelope and config["raw"] == envelope
    assert config["nested"] == {"value": 2.0, "list": [envelope]}
    json.dumps(config)  # plain values only
