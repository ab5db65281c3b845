"""NumPy-style math: arithmetic, elementwise functions, comparisons, logic and reductions.

Every function accepts tensors, NumPy arrays, Python scalars and `kiln.Variable`s and
returns a torch tensor. Example:

    >>> kiln.ops.add(np.ones(2), 1)
    tensor([2., 2.])
"""

import torch

from kiln.ops.core import _axes, _float, _pair, _same_device, convert_to_tensor

# -- arithmetic ----------------------------------------------------------------------------


def add(x1, x2):
    """Elementwise `x1 + x2` with broadcasting."""
    a, b = _pair(x1, x2)
    return torch.add(a, b)


def subtract(x1, x2):
    """Elementwise `x1 - x2`."""
    a, b = _pair(x1, x2)
    return torch.subtract(a, b)


def multiply(x1, x2):
    """Elementwise `x1 * x2`."""
    a, b = _pair(x1, x2)
    return torch.multiply(a, b)


def divide(x1, x2):
    """Elementwise true division; integer inputs give float32 results.

    Example:
        >>> kiln.ops.divide([1, 2], 2)
        tensor([0.5000, 1.0000])
    """
    a, b = _pair(x1, x2)
    return torch.true_divide(a, b)


true_divide = divide


def floor_divide(x1, x2):
    """Elementwise `x1 // x2` (rounds toward negative infinity)."""
    a, b = _pair(x1, x2)
    return torch.floor_divide(a, b)


def mod(x1, x2):
    """Elementwise remainder with the sign of the divisor (NumPy's `mod`)."""
    a, b = _pair(x1, x2)
    return torch.remainder(a, b)


def power(x1, x2):
    """Elementwise `x1 ** x2`."""
    a, b = _pair(x1, x2)
    return torch.pow(a, b)


def negative(x):
    """Elementwise `-x`."""
    return torch.neg(convert_to_tensor(x))


def reciprocal(x):
    """Elementwise `1 / x`."""
    return torch.reciprocal(_float(x))


def maximum(x1, x2):
    """Elementwise maximum of two arrays."""
    a, b = _pair(x1, x2)
    return torch.maximum(a, b)


def minimum(x1, x2):
    """Elementwise minimum of two arrays."""
    a, b = _pair(x1, x2)
    return torch.minimum(a, b)


def clip(x, x_min, x_max):
    """Limits values of `x` to `[x_min, x_max]`; bools are clipped as int32.

    Example:
        >>> kiln.ops.clip([1, 5], 0, 3)
        tensor([1, 3], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return torch.clamp(x, min=x_min, max=x_max)


# -- elementwise functions -----------------------------------------------------------------


def _floating(fn):
    def op(x):
        return fn(_float(x))

    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise `{fn.__name__}`; integer inputs give float32 results."
    return op


exp = _floating(torch.exp)
exp2 = _floating(torch.exp2)
expm1 = _floating(torch.expm1)
log = _floating(torch.log)
log1p = _floating(torch.log1p)
log2 = _floating(torch.log2)
log10 = _floating(torch.log10)
sqrt = _floating(torch.sqrt)
rsqrt = _floating(torch.rsqrt)
tanh = _floating(torch.tanh)
sin = _floating(torch.sin)
cos = _floating(torch.cos)
tan = _floating(torch.tan)
arcsin = _floating(torch.asin)
arccos = _floating(torch.acos)
arctan = _floating(torch.atan)
sinh = _floating(torch.sinh)
cosh = _floating(torch.cosh)
arcsinh = _floating(torch.asinh)
arccosh = _floating(torch.acosh)
arctanh = _floating(torch.atanh)
floor = _floating(torch.floor)
ceil = _floating(torch.ceil)
trunc = _floating(torch.trunc)
erf = _floating(torch.erf)
erfinv = _floating(torch.erfinv)


def arctan2(x1, x2):
    """Elementwise `atan(x1 / x2)` choosing the quadrant from the signs."""
    a, b = _pair(x1, x2)
    return torch.atan2(_float(a), _float(b))


def abs(x):  # noqa: A001 - NumPy's name
    """Elementwise absolute value (keeps integer dtypes)."""
    return torch.abs(convert_to_tensor(x))


absolute = abs


def square(x):
    """Elementwise `x * x` (keeps integer dtypes)."""
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return torch.square(x)


def sign(x):
    """Elementwise sign: -1, 0 or 1 in `x`'s dtype."""
    return torch.sign(convert_to_tensor(x))


def round(x, decimals=0):  # noqa: A001 - NumPy's name
    """Rounds half to even, like NumPy, to `decimals` places.

    Example:
        >>> kiln.ops.round([0.5, 1.5, 2.5])
        tensor([0., 2., 2.])
    """
    x = convert_to_tensor(x)
    if not x.is_floating_point():
        if decimals >= 0:
            return x
        factor = 10 ** (-decimals)
        return (torch.round(x.double() / factor) * factor).to(x.dtype)
    return torch.round(x, decimals=decimals)


def isnan(x):
    """Elementwise test for NaN."""
    return torch.isnan(convert_to_tensor(x))


def isinf(x):
    """Elementwise test for positive or negative infinity."""
    return torch.isinf(convert_to_tensor(x))


def isfinite(x):
    """Elementwise test for finite values."""
    return torch.isfinite(convert_to_tensor(x))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN and infinities with finite numbers."""
    return torch.nan_to_num(convert_to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


# -- comparisons and logic -----------------------------------------------------------------


def _compare(fn, doc):
    def op(x1, x2):
        a, b = _pair(x1, x2)
        return fn(a, b)

    op.__doc__ = doc
    return op


equal = _compare(torch.eq, "Elementwise `x1 == x2` as a bool tensor.")
not_equal = _compare(torch.ne, "Elementwise `x1 != x2` as a bool tensor.")
greater = _compare(torch.gt, "Elementwise `x1 > x2` as a bool tensor.")
greater_equal = _compare(torch.ge, "Elementwise `x1 >= x2` as a bool tensor.")
less = _compare(torch.lt, "Elementwise `x1 < x2` as a bool tensor.")
less_equal = _compare(torch.le, "Elementwise `x1 <= x2` as a bool tensor.")
equal.__name__, not_equal.__name__ = "equal", "not_equal"
greater.__name__, greater_equal.__name__ = "greater", "greater_equal"
less.__name__, less_equal.__name__ = "less", "less_equal"


def logical_and(x1, x2):
    """Elementwise logical AND (nonzero is true)."""
    return torch.logical_and(convert_to_tensor(x1), convert_to_tensor(x2))


def logical_or(x1, x2):
    """Elementwise logical OR (nonzero is true)."""
    return torch.logical_or(convert_to_tensor(x1), convert_to_tensor(x2))


def logical_xor(x1, x2):
    """Elementwise logical XOR (nonzero is true)."""
    return torch.logical_xor(convert_to_tensor(x1), convert_to_tensor(x2))


def logical_not(x):
    """Elementwise logical NOT (nonzero is true)."""
    return torch.logical_not(convert_to_tensor(x))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Elementwise `|x1 - x2| <= atol + rtol * |x2|`."""
    a, b = _pair(x1, x2)
    return torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def where(condition, x1=None, x2=None):
    """Picks `x1` where `condition` holds, else `x2`; with one argument, returns
    the indices of nonzero entries as a tuple (like `np.nonzero`).

    Example:
        >>> kiln.ops.where([True, False], 1.0, 0.0)
        tensor([1., 0.])
    """
    condition = convert_to_tensor(condition)
    if x1 is None and x2 is None:
        return tuple(torch.nonzero(condition, as_tuple=True))
    if x1 is None or x2 is None:
        raise ValueError(
            "where() needs both `x1` and `x2`, or neither. "
            f"Received: x1={'None' if x1 is None else 'a value'}, "
            f"x2={'None' if x2 is None else 'a value'}."
        )
    a, b = _pair(x1, x2)
    condition, a, b = _same_device([condition.to(torch.bool), a, b])
    return torch.where(condition, a, b)


# -- reductions ----------------------------------------------------------------------------


def _int_accumulator(x):
    """Keras keeps int32 (not torch's int64) for sums of small integer types."""
    if x.dtype in (torch.bool, torch.int8, torch.int16, torch.uint8, torch.int32):
        return torch.int32
    return None


def _reduce_dims(x, axis):
    return _axes(axis, x.dim()) if x.dim() else ()


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum over `axis` (None: all axes). Integer sums stay int32.

    Example:
        >>> kiln.ops.sum([[1.0, 2.0], [3.0, 4.0]], axis=0)
        tensor([4., 6.])
    """
    x = convert_to_tensor(x)
    acc = _int_accumulator(x)
    if x.dim() == 0:
        out = x
    else:
        out = torch.sum(x, dim=_reduce_dims(x, axis), keepdim=keepdims)
    return out.to(acc) if acc is not None else out


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over `axis` (None: all axes)."""
    x = convert_to_tensor(x, dtype=dtype)
    acc = _int_accumulator(x)
    out = x.flatten() if axis is None else x
    if axis is None:
        out = torch.prod(out)
        if keepdims:
            out = out.reshape((1,) * x.dim())
    else:
        for a in sorted(_axes(axis, x.dim()), reverse=True):
            out = torch.prod(out, dim=a, keepdim=keepdims)
    return out.to(acc) if acc is not None else out


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; integer inputs give float32 results."""
    x = _float(x)
    if x.dim() == 0:
        return x
    return torch.mean(x, dim=_reduce_dims(x, axis), keepdim=keepdims)


def var(x, axis=None, keepdims=False):
    """Population variance (divides by N, as NumPy's default) over `axis`."""
    x = _float(x)
    if x.dim() == 0:
        return torch.zeros_like(x)
    return torch.var(x, dim=_reduce_dims(x, axis), keepdim=keepdims, correction=0)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over `axis`."""
    return torch.sqrt(var(x, axis=axis, keepdims=keepdims))


def average(x, axis=None, weights=None):
    """Weighted mean over `axis`; `weights` broadcast along `axis` if 1-D.

    Example:
        >>> kiln.ops.average([1.0, 2.0, 3.0], weights=[1.0, 0.0, 1.0])
        tensor(2.)
    """
    x = _float(x)
    if weights is None:
        return mean(x, axis=axis)
    w = convert_to_tensor(weights, dtype=x.dtype)
    if axis is not None and w.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis % x.dim()] = w.shape[0]
        w = w.reshape(shape)
    return sum(x * w, axis=axis) / sum(w * torch.ones_like(x), axis=axis)


def _extreme(x, axis, keepdims, initial, fn, combine):
    x = convert_to_tensor(x)
    if x.dim() == 0:
        out = x
    else:
        out = fn(x, dim=_reduce_dims(x, axis), keepdim=keepdims)
    if initial is not None:
        out = combine(out, torch.as_tensor(initial, dtype=out.dtype))
    return out


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - NumPy's name
    """Maximum over `axis` (None: all axes)."""
    return _extreme(x, axis, keepdims, initial, torch.amax, torch.maximum)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - NumPy's name
    """Minimum over `axis` (None: all axes)."""
    return _extreme(x, axis, keepdims, initial, torch.amin, torch.minimum)


amax, amin = max, min


def any(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """True where any element along `axis` is nonzero."""
    x = convert_to_tensor(x).to(torch.bool)
    if axis is None:
        out = torch.any(x)
        return out.reshape((1,) * x.dim()) if keepdims else out
    for a in sorted(_axes(axis, x.dim()), reverse=True):
        x = torch.any(x, dim=a, keepdim=keepdims)
    return x


def all(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """True where every element along `axis` is nonzero."""
    x = convert_to_tensor(x).to(torch.bool)
    if axis is None:
        out = torch.all(x)
        return out.reshape((1,) * x.dim()) if keepdims else out
    for a in sorted(_axes(axis, x.dim()), reverse=True):
        x = torch.all(x, dim=a, keepdim=keepdims)
    return x


def count_nonzero(x, axis=None):
    """Counts nonzero entries along `axis` (int32)."""
    x = convert_to_tensor(x)
    return sum(x != 0, axis=axis)


def _arg_extreme(fn, x, axis, keepdims):
    x = convert_to_tensor(x)
    if axis is None:
        out = fn(x.flatten(), dim=0)
        if keepdims:
            out = out.reshape((1,) * x.dim())
    else:
        out = fn(x, dim=axis, keepdim=keepdims)
    return out.to(torch.int32)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along `axis` (None: of the flattened array), int32."""
    return _arg_extreme(torch.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along `axis` (None: of the flattened array), int32."""
    return _arg_extreme(torch.argmin, x, axis, keepdims)


def _cumulative(fn, x, axis, dtype):
    x = convert_to_tensor(x, dtype=dtype)
    acc = _int_accumulator(x)
    if axis is None:
        x, axis = x.flatten(), 0
    out = fn(x, dim=axis)
    return out.to(acc) if acc is not None else out


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (None: of the flattened array)."""
    return _cumulative(torch.cumsum, x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (None: of the flattened array)."""
    return _cumulative(torch.cumprod, x, axis, dtype)
