import json
import subprocess
import sys

import pytest

import kiln
from kiln import optimizers
from kiln.optimizers import _oracle_testing as oracle

NAMES = {
    "adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW",
    "adagrad": "Adagrad", "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam",
    "lion": "Lion", "ftrl": "Ftrl",
}


def test_public_names():
    for name in optimizers.__all__:
        assert hasattr(optimizers, name)
    assert set(optimizers.ALL_OBJECTS) == {"Optimizer", *NAMES.values()}
    assert kiln.optimizers.schedules.ExponentialDecay is not None


@pytest.mark.parametrize("name, class_name", sorted(NAMES.items()))
def test_get_by_name_matches_keras_defaults(name, class_name):
    optimizer = optimizers.get(name)
    assert type(optimizer).__name__ == class_name
    assert type(optimizers.get(class_name)) is type(optimizer)
    expected = oracle.keras_config(class_name)
    actual = optimizer.get_config()
    assert {k: v for k, v in actual.items() if k != "name"} == {
        k: v for k, v in expected.items() if k != "name"}


def test_get_other_identifiers():
    adam = optimizers.Adam()
    assert optimizers.get(adam) is adam
    assert optimizers.get(None) is None
    assert isinstance(optimizers.get("RMSPROP"), optimizers.RMSprop)
    assert isinstance(optimizers.get({"class_name": "adam", "config": {}}), optimizers.Adam)
    with pytest.raises(ValueError, match=r"Unknown optimizer name 'adamm'. Known names: \["):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(42)


def test_serialize_writes_the_public_keras_envelope():
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.9, name="sgd_x")
    envelope = optimizers.serialize(optimizer)
    assert envelope == {"module": "keras.optimizers", "class_name": "SGD",
                        "config": optimizer.get_config(), "registered_name": None}
    json.dumps(envelope)


@pytest.mark.parametrize("class_name", sorted(set(NAMES.values()) - {"Ftrl"}))
def test_envelopes_cross_between_kiln_and_keras(class_name):
    keras = oracle.keras_module()
    keras_envelope = keras.optimizers.serialize(getattr(keras.optimizers, class_name)(name="x"))
    # Under torch Keras writes its backend module; kiln reads it as the public class.
    assert keras_envelope["module"].startswith("keras.src.backend.torch.optimizers")
    restored = optimizers.deserialize(keras_envelope)
    assert type(restored).__name__ == class_name
    assert restored.get_config() == keras_envelope["config"]
    kiln_envelope = optimizers.serialize(restored)
    back_in_keras = keras.optimizers.deserialize(json.loads(json.dumps(kiln_envelope)))
    assert back_in_keras.get_config() == keras_envelope["config"]


def test_schedule_inside_optimizer_envelope_crosses_to_keras():
    keras = oracle.keras_module()
    schedule = optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10)
    envelope = optimizers.serialize(optimizers.Adam(learning_rate=schedule, name="x"))
    restored = keras.optimizers.deserialize(json.loads(json.dumps(envelope)))
    assert type(restored._learning_rate).__name__ == "CosineDecay"
    assert restored.get_config() == envelope["config"]


def test_import_is_cheap():
    # Neither the optimizers nor the schedules load kiln.saving (or keras) on import.
    code = ("import sys, kiln.optimizers, kiln.optimizers.schedules; "
            "print(sorted(m for m in sys.modules if m.startswith(('kiln.saving', 'keras'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
