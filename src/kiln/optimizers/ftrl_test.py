import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.ftrl import Ftrl


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
     "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.01,
     "beta": 0.1, "learning_rate_power": -0.3},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Ftrl, "Ftrl", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Ftrl, "Ftrl")
    oracle.check_config_against_keras(Ftrl, "Ftrl",
                                      {"l1_regularization_strength": 0.1, "beta": 0.5})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Ftrl(name="opt")
    optimizer.build(variables)
    expected = [
        "iteration", "learning_rate", "w0_accumulator", "w0_linear", "w1_accumulator",
        "w1_linear"
    ]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]


@pytest.mark.parametrize("kwargs", [
    {"initial_accumulator_value": -0.1},
    {"l1_regularization_strength": -1.0},
    {"l2_regularization_strength": -1.0},
    {"l2_shrinkage_regularization_strength": -1.0},
    {"learning_rate_power": 0.5},
])
def test_rejects_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Ftrl(**kwargs)
