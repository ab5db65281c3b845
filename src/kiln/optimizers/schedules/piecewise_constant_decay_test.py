import pytest

from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.schedules.piecewise_constant_decay import PiecewiseConstantDecay


def test_matches_keras():
    oracle.check_schedule_against_keras(
        PiecewiseConstantDecay, "PiecewiseConstantDecay",
        {"boundaries": [10, 20, 50], "values": [0.1, 0.05, 0.01, 0.001]})


def test_boundaries_belong_to_the_earlier_piece():
    schedule = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [float(schedule(s)) for s in (0, 100, 101, 200, 201)] == [1.0, 1.0, 0.5, 0.5,
                                                                      pytest.approx(0.1)]


def test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="1 less than the length of values"):
        PiecewiseConstantDecay([10, 20], [0.1, 0.01])
