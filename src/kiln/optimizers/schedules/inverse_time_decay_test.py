import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.schedules.inverse_time_decay import InverseTimeDecay


@pytest.mark.parametrize("staircase", [False, True])
def test_matches_keras(staircase):
    oracle.check_schedule_against_keras(
        InverseTimeDecay, "InverseTimeDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
         "staircase": staircase})


def test_values_by_formula():
    schedule = InverseTimeDecay(1.0, decay_steps=10, decay_rate=1.0)
    assert float(schedule(10)) == pytest.approx(0.5)
    assert float(schedule(30)) == pytest.approx(0.25)


def test_rejects_non_positive_decay_steps():
    with pytest.raises(ValueError, match="decay_steps"):
        InverseTimeDecay(0.1, decay_steps=-1, decay_rate=0.5)
