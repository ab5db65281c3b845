import pytest
import torch

import kiln
from kiln.optimizers.schedules.learning_rate_schedule import LearningRateSchedule


class Halving(LearningRateSchedule):
    def __init__(self, initial_learning_rate):
        self.initial_learning_rate = initial_learning_rate

    def __call__(self, step):
        return self.initial_learning_rate * 0.5 ** (int(step) // 2)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate}


def test_base_methods_explain_what_to_override():
    schedule = LearningRateSchedule()
    with pytest.raises(NotImplementedError, match="__call__"):
        schedule(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        schedule.get_config()


def test_custom_schedule_round_trips_and_drives_an_optimizer():
    schedule = Halving.from_config(Halving(0.4).get_config())
    variable = kiln.Variable([1.0], name="w")
    optimizer = kiln.optimizers.SGD(learning_rate=schedule)
    for _ in range(3):
        optimizer.apply([torch.ones(1)], [variable])
    # Steps 0, 1 use 0.4 and step 2 uses 0.2.
    assert variable.numpy()[0] == pytest.approx(1.0 - 0.4 - 0.4 - 0.2, abs=1e-6)
    assert float(optimizer.learning_rate) == pytest.approx(0.2)
