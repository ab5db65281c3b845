import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.nadam import Nadam


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 0.01, "beta_1": 0.8},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(Nadam, "Nadam", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(Nadam, "Nadam")
    oracle.check_config_against_keras(Nadam, "Nadam", {"beta_2": 0.99})


def test_slot_order_ends_with_the_momentum_schedule_product():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = Nadam(name="opt")
    optimizer.build(variables)
    names = [v.name for v in optimizer.variables]
    assert names[:6] == ["iteration", "learning_rate", "w0_momentum", "w0_velocity",
                         "w1_momentum", "w1_velocity"]
    assert len(names) == 7 and names[6].startswith("variable")
    assert optimizer.variables[6].shape == () and float(optimizer.variables[6].numpy()) == 1.0


def test_with_accumulation_and_ema_matches_keras():
    oracle.check_against_keras(Nadam, "Nadam", {"gradient_accumulation_steps": 2, "use_ema": True},
                               steps=6)
