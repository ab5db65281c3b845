import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.sgd import SGD


@pytest.mark.parametrize("kwargs", [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True, "learning_rate": 0.1},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(SGD, "SGD", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(SGD, "SGD")
    oracle.check_config_against_keras(SGD, "SGD", {"momentum": 0.5, "nesterov": True})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = SGD(name="opt", momentum=0.9)
    optimizer.build(variables)
    expected = ["iteration", "learning_rate", "w0_momentum", "w1_momentum"]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]


def test_plain_sgd_has_no_slots_and_steps_by_formula():
    variable = kiln.Variable([1.0, 2.0], name="w")
    optimizer = SGD(learning_rate=0.5)
    optimizer.apply([torch.tensor([1.0, -2.0])], [variable])
    assert [v.name for v in optimizer.variables] == ["iteration", "learning_rate"]
    assert variable.numpy().tolist() == [0.5, 3.0]


def test_rejects_momentum_outside_unit_interval():
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.5)
