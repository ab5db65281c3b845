import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.adamax import Adamax


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 0.01, "beta_1": 0.8},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Adamax, "Adamax", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Adamax, "Adamax")
    oracle.check_config_against_keras(Adamax, "Adamax", {"beta_2": 0.99})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Adamax(name="opt")
    optimizer.build(variables)
    expected = ["iteration", "learning_rate", "w0_momentum", "w0_norm", "w1_momentum", "w1_norm"]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]
