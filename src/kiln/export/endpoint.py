"""`Endpoint`: one callable program of a loaded artifact, checking its inputs first."""

import numpy as np
import torch

from kiln.core import dtypes
from kiln.export import signatures


class Endpoint:
    """Calls an exported program with positional or keyword arguments.

    Inputs may be torch tensors, numpy arrays or nested lists/dicts of them, following the
    endpoint's signature. numpy/Python values are cast to the signature's dtype when the
    kind matches (float64 data for a float32 input); torch tensors must have the exact
    dtype. Outputs are torch tensors computed without gradient tracking.

    Example:
        >>> artifact.serve(np.zeros((4, 16)))
        >>> revived.call(query=x1, value=x2)
    """

    def __init__(self, name, module, arg_names, inputs, outputs):
        self.name = name
        self.arg_names = list(arg_names)
        self.inputs = list(inputs)
        self.outputs = outputs
        self._module = module

    @property
    def signature(self):
        """`serve(args_0: float32 Tensor, shape=(None, 16)) -> float32 Tensor, shape=(None, 1)`."""
        args = ", ".join(f"{n}: {_describe_inline(s)}" for n, s in zip(self.arg_names, self.inputs))
        returns = _describe_inline(self.outputs) if self.outputs is not None else "None"
        return f"{self.name}({args}) -> {returns}"

    def __repr__(self):
        return f"<Endpoint {self.signature}>"

    def __call__(self, *args, **kwargs):
        return self.run(args, kwargs)

    def run(self, args, kwargs=None, cast=False):
        """Checks and converts the inputs, then runs the program without gradients.

        `cast=True` also casts torch tensors of the same kind (int64 for an int32 input);
        `kiln.Model`-style callers use it, since kiln converts numpy ints to int64.
        """
        values = self._bind(args, kwargs or {})
        converted = [self._convert(v, spec, name, cast)
                     for v, spec, name in zip(values, self.inputs, self.arg_names)]
        with torch.no_grad():
            return self._module(*converted)

    def _fail(self, problem):
        return ValueError(f"Invalid call to endpoint '{self.name}': {problem}. The endpoint's "
                          f"signature is {self.signature}.")

    def _bind(self, args, kwargs):
        n = len(self.arg_names)
        if len(args) > n:
            raise self._fail(f"it takes {n} argument(s) but {len(args)} were given")
        values = dict(zip(self.arg_names, args))
        for key, value in kwargs.items():
            if key not in self.arg_names:
                raise self._fail(f"unexpected keyword argument {key!r} (arguments are "
                                 f"{self.arg_names})")
            if key in values:
                raise self._fail(f"argument {key!r} was given twice")
            values[key] = value
        missing = [k for k in self.arg_names if k not in values]
        if missing:
            raise self._fail(f"missing argument(s) {missing}")
        return [values[k] for k in self.arg_names]

    def _convert(self, value, spec, where, cast):
        if isinstance(spec, dict):
            if not isinstance(value, dict) or set(value) != set(spec):
                got = sorted(value) if isinstance(value, dict) else type(value).__name__
                raise self._fail(f"{where} must be a dict with keys {sorted(spec)}, got {got}")
            return {k: self._convert(value[k], s, f"{where}[{k!r}]", cast) for k, s in spec.items()}
        if isinstance(spec, (list, tuple)):
            if not isinstance(value, (list, tuple)) or len(value) != len(spec):
                got = f"{len(value)} items" if isinstance(value, (list, tuple)) \
                    else type(value).__name__
                raise self._fail(f"{where} must be a list of {len(spec)} tensors, got {got}")
            return type(spec)(self._convert(v, s, f"{where}[{i}]", cast)
                              for i, (v, s) in enumerate(zip(value, spec)))
        return self._tensor(value, spec, where, cast)

    def _tensor(self, value, spec, where, cast):
        from kiln.core.variable import Variable

        if isinstance(value, Variable):
            value = value.value
        if isinstance(value, torch.Tensor):
            tensor = value if type(value) is torch.Tensor else value.as_subclass(torch.Tensor)
            got = dtypes.standardize(tensor.dtype)
            if got != spec.dtype:
                if not (cast and _same_kind(got, spec.dtype)):
                    raise self._fail(f"{where} has dtype {got}, expected {spec.dtype}")
                tensor = tensor.to(dtypes.to_torch(spec.dtype))
        else:
            try:
                array = np.asarray(value)
                got = dtypes.standardize(array.dtype)
            except (TypeError, ValueError):
                raise self._fail(f"{where} must be a tensor or array, got "
                                 f"{type(value).__name__}") from None
            if got != spec.dtype and not _same_kind(got, spec.dtype):
                raise self._fail(f"{where} has dtype {got}, expected {spec.dtype}")
            tensor = torch.from_numpy(np.ascontiguousarray(array)).to(dtypes.to_torch(spec.dtype))
        shape = tuple(tensor.shape)
        if len(shape) != len(spec.shape) or any(
                want is not None and want != have for want, have in zip(spec.shape, shape)):
            raise self._fail(f"{where} has shape {shape}, expected {_shape_text(spec.shape)}")
        return tensor


def _same_kind(got, want):
    floats = dtypes.FLOAT_NAMES
    ints = {"int8", "int16", "int32", "int64", "uint8"}
    return (got in floats and want in floats) or (got in ints and want in ints)


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _describe_inline(structure):
    if signatures.is_leaf(structure):
        return signatures.describe_spec(structure)
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k!r}: {_describe_inline(v)}" for k, v in structure.items()) + "}"
    inner = ", ".join(_describe_inline(v) for v in structure)
    return f"[{inner}]" if isinstance(structure, list) else f"({inner})"
