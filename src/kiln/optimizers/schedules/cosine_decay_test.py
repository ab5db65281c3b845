import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.schedules.cosine_decay import CosineDecay


@pytest.mark.parametrize("kwargs", [
    {},
    {"alpha": 0.1},
    {"alpha": 0.1, "warmup_target": 0.1, "warmup_steps": 10},
])
def test_matches_keras(kwargs):
    oracle.check_schedule_against_keras(
        CosineDecay, "CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 30, **kwargs})


def test_warmup_is_linear_then_decays_from_target():
    schedule = CosineDecay(0.0, decay_steps=100, warmup_target=1.0, warmup_steps=10)
    assert float(schedule(5)) == pytest.approx(0.5)
    assert float(schedule(10)) == pytest.approx(1.0)
    assert float(schedule(60)) == pytest.approx(0.5, abs=1e-6)
    assert float(schedule(10_000)) == pytest.approx(0.0, abs=1e-7)


def test_rejects_non_positive_decay_steps():
    with pytest.raises(ValueError, match="decay_steps"):
        CosineDecay(0.1, decay_steps=0)
