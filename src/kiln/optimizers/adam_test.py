import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.adam import Adam


@pytest.mark.parametrize("kwargs", [
    {},
    {"amsgrad": True, "learning_rate": 0.01},
    {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Adam, "Adam", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Adam, "Adam")
    oracle.check_config_against_keras(Adam, "Adam", {"beta_1": 0.8, "amsgrad": True})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Adam(name="opt", amsgrad=True)
    optimizer.build(variables)
    expected = [
        "iteration", "learning_rate", "w0_momentum", "w0_velocity", "w1_momentum",
        "w1_velocity", "w0_velocity_hat", "w1_velocity_hat"
    ]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]
