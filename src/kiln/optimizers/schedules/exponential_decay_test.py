import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.schedules.exponential_decay import ExponentialDecay


@pytest.mark.parametrize("staircase", [False, True])
def test_matches_keras(staircase):
    oracle.check_schedule_against_keras(
        ExponentialDecay, "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9,
         "staircase": staircase})


def test_values_by_formula():
    schedule = ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5)
    assert float(schedule(0)) == 1.0
    assert float(schedule(2)) == pytest.approx(0.5)
    assert float(schedule(3)) == pytest.approx(0.5 ** 1.5)
    assert float(ExponentialDecay(1.0, 2, 0.5, staircase=True)(3)) == pytest.approx(0.5)


def test_rejects_non_positive_decay_steps():
    with pytest.raises(ValueError, match="decay_steps"):
        ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9)
