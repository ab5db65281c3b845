"""`SeedGenerator`: a seed held in a non-trainable Variable, advanced on every draw.

The state is `[seed, counter]` stored as int32 (Keras's torch backend does the same: torch
has no usable uint32, so the bits are read back as uint32). A draw combines the two into
`(seed + counter) mod 2**32` and seeds a fresh `torch.Generator` with it, which makes
kiln's seeded random ops produce the very numbers Keras 3 produces on torch.
"""

import numbers
import random as python_random

import numpy as np
import torch

from kiln.core.variable import Variable, in_symbolic_scope
from kiln.utils.naming import auto_name

_MASK32 = 0xFFFFFFFF
_global_generator = None


def make_default_seed():
    """A fresh seed from Python's `random` (so `set_random_seed` makes it reproducible)."""
    return python_random.randint(1, int(1e9))


def _as_int32_bits(seed):
    """Reinterprets the low 32 bits of `seed` as a signed int32."""
    return ((int(seed) & _MASK32) ^ 0x80000000) - 0x80000000


class SeedGenerator:
    """Generates a sequence of seeds for kiln's random ops.

    Pass one as `seed=` to random ops or initializers: each call then gets a new seed, and
    the whole sequence is reproducible from the initial `seed`.

    Args:
        seed: Initial integer seed; `None` picks one from Python's `random`.
        name: Optional name (defaults to `seed_generator`, `seed_generator_1`, ...).

    Example:
        >>> gen = kiln.random.SeedGenerator(seed=42)
        >>> a = kiln.random.normal((2,), seed=gen)
        >>> b = kiln.random.normal((2,), seed=gen)  # differs from a
    """

    # How kiln.saving writes it: Keras's public envelope (module, class_name, registered_name).
    _keras_envelope = ("keras.random", "SeedGenerator", None)

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(
                f"SeedGenerator got unexpected keyword arguments {sorted(kwargs)}. "
                "Expected only `seed` and `name`."
            )
        self.name = name or auto_name("seed_generator")
        self._initial_seed = seed
        if seed is None:
            seed = make_default_seed()
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(
                f"SeedGenerator needs an integer seed (or None). Received: seed={seed!r}"
            )
        initial = np.array([_as_int32_bits(seed), 0], dtype=np.int32)
        self.state = Variable(
            initial, dtype="int32", trainable=False, name="seed_generator_state"
        )
        self.state.path = f"{self.name}/seed_generator_state"

    def next(self, ordered=True):
        """Returns the current `[seed, counter]` state (an int32 tensor) and advances it.

        `ordered=True` increments the counter; `ordered=False` scrambles the whole state,
        which is what the global generator does for unseeded ops.
        """
        current = self.state.value.detach().clone()
        if ordered:
            step = torch.tensor([0, 1], dtype=torch.int32, device=current.device)
            self.state.assign(current + step)
        else:
            self.state.assign((current + 1) * 5387 % 933199)
        return current

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name}, seed={self._initial_seed}>"


def global_seed_generator():
    """The generator unseeded random ops draw from (recreated by `set_random_seed`)."""
    global _global_generator
    if _global_generator is None:
        _global_generator = SeedGenerator(name="global_seed_generator")
    return _global_generator


def reset_global_seed_generator():
    """Drops the global generator; the next unseeded op creates a new one."""
    global _global_generator
    _global_generator = None


def draw_seed(seed):
    """Resolves `seed` (int, SeedGenerator or None) to one 32-bit integer seed.

    Ints are used as-is (mod 2**32), generators advance, and None draws from the global
    generator.
    """
    if isinstance(seed, SeedGenerator):
        state = seed.next()
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return int(seed) & _MASK32
    elif seed is None:
        state = global_seed_generator().next(ordered=False)
    else:
        raise ValueError(
            "Argument `seed` must be an integer or a `kiln.random.SeedGenerator` (or None). "
            f"Received: seed={seed!r} of type {type(seed).__name__}"
        )
    first, second = (int(v) for v in state.tolist())
    return (first + second) & _MASK32


def make_generator(seed, device=None):
    """A `torch.Generator` seeded from `seed`, or None while kiln traces symbolically."""
    if in_symbolic_scope():
        return None
    device = torch.device(device) if device is not None else torch.get_default_device()
    if device.type == "meta":
        return None
    generator = torch.Generator(device=device)
    generator.manual_seed(draw_seed(seed))
    return generator
