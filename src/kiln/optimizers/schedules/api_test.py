import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers import schedules


def test_public_names():
    for name in schedules.__all__:
        assert hasattr(schedules, name)
    assert set(schedules.ALL_OBJECTS) == {
        "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
        "InverseTimeDecay", "PolynomialDecay", "CosineDecay", "CosineDecayRestarts"}


def test_serialize_matches_keras_envelope():
    keras = oracle.keras_module()
    kwargs = {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}
    expected = keras.optimizers.schedules.serialize(
        keras.optimizers.schedules.ExponentialDecay(**kwargs))
    assert schedules.serialize(schedules.ExponentialDecay(**kwargs)) == expected


def test_deserialize_reads_keras_envelope():
    keras = oracle.keras_module()
    envelope = keras.optimizers.schedules.serialize(
        keras.optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5))
    restored = schedules.deserialize(envelope)
    assert isinstance(restored, schedules.CosineDecay)
    assert restored.get_config() == envelope["config"]


def test_get():
    schedule = schedules.PolynomialDecay(0.1, 10)
    assert schedules.get(schedule) is schedule
    assert schedules.get(None) is None
    restored = schedules.get(schedules.serialize(schedule))
    assert restored.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="need arguments"):
        schedules.get("ExponentialDecay")
    with pytest.raises(ValueError, match="Received: 3"):
        schedules.get(3)

