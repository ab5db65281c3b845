import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.adadelta import Adadelta


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 1.0, "rho": 0.9},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Adadelta, "Adadelta", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Adadelta, "Adadelta")
    oracle.check_config_against_keras(Adadelta, "Adadelta", {"rho": 0.9})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Adadelta(name="opt")
    optimizer.build(variables)
    expected = [
        "iteration", "learning_rate", "w0_accumulated_grad", "w0_accumulated_delta_var",
        "w1_accumulated_grad", "w1_accumulated_delta_var"
    ]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]
