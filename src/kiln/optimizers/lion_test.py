import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.lion import Lion


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Lion, "Lion", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Lion, "Lion")
    oracle.check_config_against_keras(Lion, "Lion", {"beta_1": 0.5})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Lion(name="opt")
    optimizer.build(variables)
    expected = ["iteration", "learning_rate", "w0_momentum", "w1_momentum"]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]


def test_every_element_moves_by_the_learning_rate():
    variable = kiln.Variable([0.0, 0.0, 0.0], name="w")
    Lion(learning_rate=0.1).apply([torch.tensor([3.0, -0.001, 0.0])], [variable])
    assert variable.numpy().tolist() == pytest.approx([-0.1, 0.1, 0.0])


def test_rejects_beta_1_outside_range():
    with pytest.raises(ValueError, match="beta_1"):
        Lion(beta_1=0.0)
