import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.schedules.polynomial_decay import PolynomialDecay


@pytest.mark.parametrize("kwargs", [
    {},
    {"power": 2.0, "cycle": True},
    {"power": 0.5, "end_learning_rate": 0.01},
])
def test_matches_keras(kwargs):
    oracle.check_schedule_against_keras(
        PolynomialDecay, "PolynomialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 10, **kwargs})


def test_holds_end_rate_after_decay_steps():
    schedule = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01)
    assert float(schedule(10)) == pytest.approx(0.01)
    assert float(schedule(500)) == pytest.approx(0.01)


def test_cycle_restarts_the_decay():
    schedule = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, cycle=True)
    # Step 15 lies in the second period, stretched to 20 steps: 0.1 * (1 - 15/20).
    assert float(schedule(15)) == pytest.approx(0.025)
