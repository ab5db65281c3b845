"""Random initializers: normal, uniform, truncated normal, variance scaling and orthogonal.

With the same integer `seed`, each produces exactly the values Keras 3 produces on torch.
An initializer built with `seed=None` picks a seed once, at construction, so calling the
same instance twice returns the same values (Keras behaves the same way); pass a
`kiln.random.SeedGenerator` to get new values on every call.
"""

import math
import numbers

import torch

from kiln import random as krandom
from kiln.initializers.initializer import Initializer


def compute_fans(shape, input_axes=None, output_axes=None):
    """Returns `(fan_in, fan_out)` for a weight shape.

    A 2-D `(in, out)` kernel has fans `in` and `out`; a convolution kernel
    `(*spatial, in_channels, out_channels)` multiplies both by the receptive field size.
    `input_axes` and `output_axes`, when both given, name the axes to multiply instead.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = tuple(int(d) for d in shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class RandomInitializer(Initializer):
    """Base for initializers that take a `seed` (None, an int or a `SeedGenerator`)."""

    def __init__(self, seed=None):
        self._init_seed = seed
        if seed is None:
            seed = krandom.make_default_seed()
        elif isinstance(seed, dict):
            from kiln.saving import deserialize_keras_object

            seed = deserialize_keras_object(seed)
        elif isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, krandom.SeedGenerator)):
            raise ValueError(
                f"{type(self).__name__} `seed` must be None, an integer or a "
                f"kiln.random.SeedGenerator. Received: seed={seed!r}"
            )
        self.seed = seed

    def _seed_config(self):
        seed = self._init_seed
        if seed is None or isinstance(seed, (int, dict)):
            return seed
        if isinstance(seed, numbers.Integral):
            return int(seed)
        from kiln.saving import serialize_keras_object

        return serialize_keras_object(seed)

    def get_config(self):
        return {"seed": self._seed_config()}


class RandomNormal(RandomInitializer):
    """Samples from a normal distribution with the given `mean` and `stddev`.

    Example:
        >>> kiln.initializers.RandomNormal(stddev=1.0, seed=1)((2, 2)).shape
        torch.Size([2, 2])
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return krandom.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Samples from a normal distribution cut at two standard deviations from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return krandom.truncated_normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype,
                                        seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Samples uniformly from `[minval, maxval)`."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return krandom.uniform(shape, minval=self.minval, maxval=self.maxval, dtype=dtype,
                               seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
# Standard deviation of a unit normal truncated to (-2, 2).
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(RandomInitializer):
    """Scales the sampling distribution to the weight's fan-in, fan-out or their average.

    With `n` the chosen fan, values have variance `scale / n`: from a truncated normal,
    a normal (`"untruncated_normal"`), or a uniform on `[-sqrt(3 * scale / n), +...]`.

    Example:
        >>> init = kiln.initializers.VarianceScaling(scale=2.0, mode="fan_in", seed=0)
        >>> init((256, 128)).std().item() < 0.1
        True
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling `scale` must be positive. Received: scale={scale}")
        if mode not in _MODES:
            raise ValueError(f"VarianceScaling `mode` must be one of {_MODES}. Received: mode={mode!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling `distribution` must be one of {_DISTRIBUTIONS} (or 'normal'). "
                f"Received: distribution={distribution!r}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / _TRUNCATED_STD
            return krandom.truncated_normal(shape, mean=0.0, stddev=stddev, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return krandom.normal(shape, mean=0.0, stddev=math.sqrt(scale), dtype=dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return krandom.uniform(shape, minval=-limit, maxval=limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset whose config holds only seed and axes."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution,
                         seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self._seed_config(), "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / (fan_in + fan_out))` (Glorot & Bengio, 2010).

    Example:
        >>> w = kiln.initializers.GlorotUniform(seed=0)((3, 5))
        >>> bool((w.abs() <= (6 / 8) ** 0.5).all())
        True
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with `stddev = sqrt(2 / (fan_in + fan_out))`."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with `stddev = sqrt(1 / fan_in)` (pairs with `selu`)."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


class LecunUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(3 / fan_in)`."""

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with `stddev = sqrt(2 / fan_in)` (He et al., 2015)."""

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


class HeUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / fan_in)`."""

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


class Orthogonal(RandomInitializer):
    """A random orthogonal matrix times `gain` (rows or columns orthonormal).

    Shapes with more than two dimensions are treated as `(prod(shape[:-1]), shape[-1])`.

    Example:
        >>> q = kiln.initializers.Orthogonal(seed=0)((4, 4))
        >>> bool(torch.allclose(q @ q.T, torch.eye(4), atol=1e-5))
        True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal initializer needs a shape of rank >= 2; received shape={shape} "
                f"of rank {len(shape)}. Use another initializer for biases and scalars."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = krandom.normal((max(rows, cols), min(rows, cols)), dtype=dtype, seed=self.seed)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


OrthogonalInitializer = Orthogonal
