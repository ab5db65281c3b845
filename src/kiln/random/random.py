"""Random ops with Keras semantics: `seed=` is an int, a `SeedGenerator` or None.

With an int seed the same call returns the same numbers every time (and the same numbers
Keras 3 returns on torch); with a `SeedGenerator` each call advances the generator.

Example:
    >>> a = kiln.random.normal((2, 3), seed=1)
    >>> bool((a == kiln.random.normal((2, 3), seed=1)).all())
    True
"""

import torch

from kiln.core import dtypes
from kiln.core.variable import in_symbolic_scope
from kiln.random.seed_generator import SeedGenerator, draw_seed, make_generator


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def _float_dtype(dtype, op):
    name = dtypes.standardize(dtype) or "float32"
    if not dtypes.is_float(name):
        raise ValueError(f"`kiln.random.{op}` needs a floating dtype. Received: dtype={dtype!r}")
    return dtypes.to_torch(name)


def _device():
    return torch.device("meta") if in_symbolic_scope() else torch.get_default_device()


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution.

    Args:
        shape: Output shape.
        mean, stddev: Distribution parameters.
        dtype: A floating dtype (default float32).
        seed: An int, a `kiln.random.SeedGenerator`, or None (global generator).

    Example:
        >>> kiln.random.normal((2,), seed=0).shape
        torch.Size([2])
    """
    tdtype, device = _float_dtype(dtype, "normal"), _device()
    generator = make_generator(seed, device)
    return torch.normal(float(mean), float(stddev), size=_shape(shape), generator=generator,
                        dtype=tdtype, device=device)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples uniformly from `[minval, maxval)`.

    Example:
        >>> x = kiln.random.uniform((100,), minval=-1, maxval=1, seed=3)
        >>> bool(((x >= -1) & (x < 1)).all())
        True
    """
    tdtype, device = _float_dtype(dtype, "uniform"), _device()
    size = _shape(shape)
    generator = make_generator(seed, device)
    raw = torch.rand(size or (1,), generator=generator, dtype=tdtype, device=device)
    out = (maxval - minval) * raw + minval
    return out if size else out[0]


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution with values beyond two standard deviations
    redrawn, so every value lies in `(mean - 2 * stddev, mean + 2 * stddev)`.

    Example:
        >>> x = kiln.random.truncated_normal((1000,), seed=0)
        >>> bool((x.abs() < 2).all())
        True
    """
    tdtype, device = _float_dtype(dtype, "truncated_normal"), _device()
    size = _shape(shape)
    generator = make_generator(seed, device)
    if generator is None and device.type == "meta":
        return torch.empty(size, dtype=tdtype, device=device)
    # Four candidates per value; keep the first one inside (-2, 2).
    candidates = torch.normal(0.0, 1.0, size=size + (4,), generator=generator,
                              dtype=tdtype, device=device)
    inside = (candidates > -2) & (candidates < 2)
    first = torch.argmax(inside.to(torch.uint8), dim=-1, keepdim=True)
    out = candidates.gather(-1, first).squeeze(-1)
    missing = ~inside.any(-1)
    # Rare (about 4e-6 per value): all four candidates fell outside; draw again.
    while bool(missing.any()):
        redraw = torch.normal(0.0, 1.0, size=(int(missing.sum()),), generator=generator,
                              dtype=tdtype, device=device)
        ok = (redraw > -2) & (redraw < 2)
        positions = missing.nonzero(as_tuple=True)
        keep = tuple(p[ok] for p in positions)
        out[keep] = redraw[ok]
        missing[keep] = False
    return out.mul_(stddev).add_(mean)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Samples integers uniformly from `[minval, maxval)`."""
    name = dtypes.standardize(dtype)
    if not name.startswith(("int", "uint")):
        raise ValueError(f"`kiln.random.randint` needs an integer dtype. Received: dtype={dtype!r}")
    device = _device()
    generator = make_generator(seed, device)
    return torch.randint(int(minval), int(maxval), size=_shape(shape), generator=generator,
                         dtype=dtypes.to_torch(name), device=device)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws `num_samples` class indices per row of `logits` (shape `(batch, classes)`)."""
    from kiln.ops import convert_to_tensor

    logits = convert_to_tensor(logits)
    if logits.dim() != 2:
        raise ValueError(
            f"`logits` must be 2-D (batch, num_classes). Received shape {tuple(logits.shape)}."
        )
    probs = torch.softmax(logits.float(), dim=-1)
    generator = make_generator(seed, probs.device)
    samples = torch.multinomial(probs, num_samples, replacement=True, generator=generator)
    return samples.to(dtypes.to_torch(dtype))


def _uses_fast_dropout(seed):
    return seed is None or (isinstance(seed, SeedGenerator) and seed._initial_seed is None)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeros entries with probability `rate` and scales the rest by `1 / (1 - rate)`.

    Unseeded calls (and generators created without a seed) use torch's own dropout,
    which draws from torch's global RNG, as Keras does on torch.

    Example:
        >>> y = kiln.random.dropout(kiln.ops.ones((4, 4)), 0.5, seed=1)
        >>> sorted(set(y.flatten().tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
    """
    from kiln.ops import convert_to_tensor

    inputs = convert_to_tensor(inputs)
    if rate == 1.0:
        return torch.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    if noise_shape is None and _uses_fast_dropout(seed):
        return torch.nn.functional.dropout(inputs, p=rate, training=True)
    keep = 1.0 - rate
    if noise_shape is None:
        mask_shape = tuple(inputs.shape)
    else:
        mask_shape = tuple(d if n is None else n for d, n in zip(inputs.shape, noise_shape))
    probs = torch.full(mask_shape, keep, device=inputs.device)
    generator = make_generator(seed, inputs.device)
    mask = torch.bernoulli(probs, generator=generator).bool()
    mask = torch.broadcast_to(mask, inputs.shape)
    return torch.where(mask, inputs / keep, torch.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """Shuffles `x` along `axis` (independently for each index of the axes before it)."""
    from kiln.ops import convert_to_tensor

    x = convert_to_tensor(x)
    generator = make_generator(seed, x.device)
    keys = torch.rand(tuple(x.shape[: axis + 1]), generator=generator, device=x.device)
    order = keys.argsort(axis)
    order = order.reshape(tuple(order.shape) + (1,) * (x.dim() - axis - 1)).expand(x.shape)
    return x.gather(axis, order)


def _with_torch_seed(seed, fn):
    """Runs `fn` with torch's global RNG seeded from `seed`, then restores that RNG.

    Used for samplers torch only offers on the global RNG (gamma, binomial, beta).
    """
    state = torch.random.get_rng_state()
    try:
        if not in_symbolic_scope():
            torch.manual_seed(draw_seed(seed))
        return fn()
    finally:
        torch.random.set_rng_state(state)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from a Gamma(alpha, 1) distribution."""
    tdtype = _float_dtype(dtype, "gamma")
    alpha = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32), _shape(shape))
    return _with_torch_seed(seed, lambda: torch._standard_gamma(alpha).to(tdtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from a Binomial(counts, probabilities) distribution."""
    tdtype = _float_dtype(dtype, "binomial")
    size = _shape(shape)
    counts = torch.broadcast_to(torch.as_tensor(counts, dtype=torch.float32), size)
    probs = torch.broadcast_to(torch.as_tensor(probabilities, dtype=torch.float32), size)
    return _with_torch_seed(seed, lambda: torch.binomial(counts, probs).to(tdtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from a Beta(alpha, beta) distribution."""
    tdtype = _float_dtype(dtype, "beta")
    size = _shape(shape)
    a = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32), size)
    b = torch.broadcast_to(torch.as_tensor(beta, dtype=torch.float32), size)

    def sample():
        x = torch._standard_gamma(a)
        y = torch._standard_gamma(b)
        return (x / (x + y)).to(tdtype)

    return _with_torch_seed(seed, sample)
