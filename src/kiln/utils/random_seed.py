"""`set_random_seed`: one call that makes Python, NumPy, torch and kiln reproducible."""

import random

import numpy as np
import torch

_seed = None


def set_random_seed(seed):
    """Seeds Python's `random`, NumPy, torch and kiln's global seed generator.

    Unseeded kiln random ops, initializers without a `seed`, and unseeded dropout all become
    reproducible after this call.

    Args:
        seed: An integer.

    Example:
        >>> kiln.utils.set_random_seed(1337)
        >>> a = kiln.random.normal((2,))
        >>> kiln.utils.set_random_seed(1337)
        >>> bool((a == kiln.random.normal((2,))).all())
        True
    """
    global _seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"set_random_seed() expects an integer seed. Received: seed={seed!r} "
            f"of type {type(seed).__name__}"
        )
    seed = int(seed)
    _seed = seed
    from kiln.random.seed_generator import reset_global_seed_generator

    reset_global_seed_generator()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def get_random_seed():
    """The seed last given to `set_random_seed`, or None."""
    return _seed
