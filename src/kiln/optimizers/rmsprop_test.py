import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.rmsprop import RMSprop


@pytest.mark.parametrize("kwargs", [
    {},
    {"momentum": 0.5},
    {"centered": True},
    {"momentum": 0.5, "centered": True, "rho": 0.8},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(RMSprop, "RMSprop", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(RMSprop, "RMSprop")
    oracle.check_config_against_keras(RMSprop, "RMSprop",
                                      {"rho": 0.8, "momentum": 0.1, "centered": True})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = RMSprop(name="opt", momentum=0.5, centered=True)
    optimizer.build(variables)
    expected = [
        "iteration", "learning_rate", "w0_velocity", "w1_velocity", "w0_momentum",
        "w1_momentum", "w0_average_gradient", "w1_average_gradient"
    ]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]
