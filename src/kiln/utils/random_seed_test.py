"""set_random_seed seeds Python, NumPy, torch and kiln's global generator."""

import random

import numpy as np
import pytest
import torch

from kiln import initializers
from kiln import random as krandom
from kiln.utils.random_seed import get_random_seed, set_random_seed


def _draw():
    return (random.random(), np.random.rand(), torch.rand(1).item(),
            krandom.uniform((3,)).tolist(), initializers.GlorotUniform()((2, 2)).tolist())


def test_same_seed_same_numbers_everywhere():
    set_random_seed(7)
    first = _draw()
    set_random_seed(7)
    assert _draw() == first
    assert get_random_seed() == 7
    set_random_seed(8)
    assert _draw() != first


def test_rejects_non_integers():
    with pytest.raises(ValueError, match="integer seed"):
        set_random_seed(1.5)
    with pytest.raises(ValueError, match="integer seed"):
        set_random_seed(True)
