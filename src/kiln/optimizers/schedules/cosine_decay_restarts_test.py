import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.schedules.cosine_decay_restarts import CosineDecayRestarts


@pytest.mark.parametrize("kwargs", [
    {},
    {"t_mul": 1.0},
    {"t_mul": 1.5, "m_mul": 0.8, "alpha": 0.1},
])
def test_matches_keras(kwargs):
    oracle.check_schedule_against_keras(
        CosineDecayRestarts, "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 7, **kwargs})


def test_restarts_at_period_boundaries():
    schedule = CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert float(schedule(10)) == pytest.approx(0.5)   # second period starts at m_mul
    assert float(schedule(30)) == pytest.approx(0.25)  # third starts after 10 + 20 steps


def test_rejects_non_positive_first_decay_steps():
    with pytest.raises(ValueError, match="first_decay_steps"):
        CosineDecayRestarts(0.1, first_decay_steps=0)
