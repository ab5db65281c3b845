"""`kiln.random`: seeded random ops and `SeedGenerator`.

Example:
    >>> gen = kiln.random.SeedGenerator(seed=7)
    >>> kiln.random.uniform((2, 2), seed=gen).shape
    torch.Size([2, 2])
"""

from kiln.random.random import (
    beta,
    binomial,
    categorical,
    dropout,
    gamma,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
from kiln.random.seed_generator import SeedGenerator, draw_seed, global_seed_generator, make_default_seed

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "draw_seed",
    "dropout",
    "gamma",
    "global_seed_generator",
    "make_default_seed",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

# Serializable classes of this namespace, for `{"module": "keras.random", "class_name": ...}`.
ALL_OBJECTS = {"SeedGenerator": SeedGenerator}
ALL_OBJECTS_DICT = {**ALL_OBJECTS, "seed_generator": SeedGenerator}
