import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers.adamw import AdamW


@pytest.mark.parametrize("kwargs", [
    {},
    {"weight_decay": 0.1, "learning_rate": 0.01},
    {"weight_decay": 0.05, "amsgrad": True},
])
def test_matches_keras(kwargs):
    oracle.check_against_keras(AdamW, "AdamW", kwargs)


def test_config_matches_keras():
    oracle.check_config_against_keras(AdamW, "AdamW")
    oracle.check_config_against_keras(AdamW, "AdamW", {"weight_decay": 0.01})


def test_slot_order_and_names():
    variables = [kiln.Variable(torch.zeros(2), name="w0"), kiln.Variable(torch.zeros(3), name="w1")]
    optimizer = AdamW(name="opt")
    optimizer.build(variables)
    expected = [
        "iteration", "learning_rate", "w0_momentum", "w0_velocity", "w1_momentum",
        "w1_velocity"
    ]
    assert [v.name for v in optimizer.variables] == expected
    assert [v.path for v in optimizer.variables] == [f"opt/{n}" for n in expected]


def test_requires_weight_decay():
    with pytest.raises(ValueError, match="weight_decay=None"):
        AdamW(weight_decay=None)


def test_excluded_variables_match_keras():
    oracle.check_against_keras(AdamW, "AdamW", {"weight_decay": 0.3, "learning_rate": 0.05},
                               exclude_names=["w1"])
