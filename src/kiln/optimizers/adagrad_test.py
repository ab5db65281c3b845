import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.adagrad import Adagrad


@pytest.mark.parametrize("kwargs", [
    {},
    {"initial_accumulator_value": 0.5, "learning_rate": 0.1},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Adagrad, "Adagrad", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Adagrad, "Adagrad")
    oracle.check_config_against_keras(Adagrad, "Adagrad",
                                      {"initial_accumulator_value": 0.2, "epsilon": 1e-5})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Adagrad(name="opt")
    optimizer.build(variables)
    expected = ["iteration", "learning_rate", "w0_accumulator", "w1_accumulator"]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]


def test_accumulators_start_at_initial_value():
    optimizer = Adagrad(initial_accumulator_value=0.25)
    optimizer.build([kiln.Variable(torch.zeros(3), name="w")])
    assert optimizer.variables[2].numpy().tolist() == [0.25, 0.25, 0.25]
