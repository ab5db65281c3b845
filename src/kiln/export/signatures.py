"""Input signatures of export endpoints.

An endpoint takes positional arguments; each argument is an `InputSpec` or a nested
list/tuple/dict of them (a functional model with several inputs takes one argument that
is a list or dict). This module turns what users pass (`InputSpec`, `KerasTensor`, arrays)
into specs, derives a model's default signature, checks a signature against a functional
model, builds `torch.export` dynamic shapes and sample inputs, and converts specs to and
from the JSON stored in an artifact's manifest.
"""

import inspect

import numpy as np
import torch

from kiln.core import dtypes
from kiln.core.keras_tensor import KerasTensor
from kiln.errors import ExportError
from kiln.layers.input_spec import InputSpec

# Sizes used for dynamic dimensions while tracing. The batch uses 3 (torch specializes
# sizes 0 and 1); other dynamic axes use a size large enough for strided convolutions.
SAMPLE_BATCH = 3
SAMPLE_DIM = 32


# -- structures ---------------------------------------------------------------------------
def is_leaf(x):
    return not isinstance(x, (list, tuple, dict))


def flatten(structure):
    """Leaves in order (dicts in insertion order)."""
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in flatten(v)]
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return fn(structure)


def unflatten(template, leaves):
    """Inverse of `flatten`: rebuilds `template`'s structure from `leaves`."""
    it = iter(leaves)
    result = map_structure(lambda _: next(it), template)
    return result


def leaf_paths(structure, prefix):
    """`[(path, leaf)]` with paths like `args_0`, `args_0[1]`, `args_0['a']`."""
    if isinstance(structure, dict):
        return [p for k, v in structure.items() for p in leaf_paths(v, f"{prefix}[{k!r}]")]
    if isinstance(structure, (list, tuple)):
        return [p for i, v in enumerate(structure) for p in leaf_paths(v, f"{prefix}[{i}]")]
    return [(prefix, structure)]


# -- specs ----------------------------------------------------------------------------------
def to_spec(x, where="input_signature"):
    """An `InputSpec` with a full shape and a dtype, from a spec, KerasTensor or array."""
    if isinstance(x, InputSpec):
        if x.shape is None:
            raise ExportError(
                f"{where}: {x!r} has no shape. Export needs every dimension: pass "
                "`kiln.InputSpec(shape=(None, ...), dtype=...)` with None for the batch."
            )
        return InputSpec(shape=x.shape, dtype=x.dtype or "float32", name=x.name)
    if isinstance(x, KerasTensor):
        return InputSpec(shape=x.shape, dtype=x.dtype, name=_input_name(x))
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type):
        dtype = dtypes.standardize(x.dtype)
        if isinstance(x, np.ndarray) and dtype == "float64":
            dtype = "float32"
        return InputSpec(shape=tuple(int(d) for d in x.shape), dtype=dtype)
    raise ExportError(
        f"{where}: expected `kiln.InputSpec`s (or KerasTensors / arrays), possibly nested in "
        f"lists or dicts. Received: {x!r} of type {type(x).__name__}. Example: "
        "`input_signature=[kiln.InputSpec(shape=(None, 16), dtype='float32')]`."
    )


def _input_name(tensor):
    history = getattr(tensor, "_keras_history", None)
    if history:
        return getattr(history[0], "name", None) or tensor.name
    return tensor.name


def normalize(signature):
    """A list with one spec structure per positional argument of the endpoint."""
    if isinstance(signature, (InputSpec, KerasTensor, dict)) or is_leaf(signature):
        signature = [signature]
    return [map_structure(lambda x, i=i: to_spec(x, f"input_signature[{i}]"), arg)
            for i, arg in enumerate(signature)]


def default_signature(model):
    """The signature `model.export()` uses: one argument, batch dimension None."""
    if not model.built:
        raise ExportError(
            f"Model '{model.name}' has not been built, so its input shapes are unknown and "
            "it cannot be exported. Call it on a batch of data first (`model(x)`), call "
            "`model.build(input_shape)`, or pass `input_signature=[kiln.InputSpec(...)]`."
        )

    def batchless(shape, dtype, name=None):
        shape = tuple(shape)
        return InputSpec(shape=(None,) + shape[1:] if shape else shape, dtype=dtype, name=name)

    struct = getattr(model, "_inputs_struct", None)
    if struct is not None:
        return [map_structure(lambda t: batchless(t.shape, t.dtype, _input_name(t)), struct)]
    inputs = getattr(type(model), "inputs", None) is not None and model.inputs
    if inputs:
        specs = [batchless(t.shape, t.dtype, _input_name(t)) for t in inputs]
        return [specs[0] if len(specs) == 1 else specs]
    shapes = getattr(model, "_build_shapes_dict", None)
    if not shapes:
        raise ExportError(
            f"Model '{model.name}' is built but kiln does not know the shapes of its inputs "
            "(it was built without being called). Call it once on real data, or pass "
            "`input_signature=[kiln.InputSpec(shape=(None, ...), dtype=...)]`."
        )
    dtype = model.compute_dtype

    def from_shape(shape):
        if isinstance(shape, dict):
            return {k: from_shape(v) for k, v in shape.items()}
        if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
            return [from_shape(s) for s in shape]
        return batchless(shape, dtype)

    return [from_shape(shape) for shape in shapes.values()]


def fit_to_model(model, signature):
    """Adapts a user signature to a functional model's inputs; raises on a mismatch.

    A functional model takes its inputs as one argument, so a flat list of N specs for a
    model with N inputs becomes that one argument. Other models are checked by tracing.
    """
    struct = getattr(model, "_inputs_struct", None)
    if struct is None:
        return signature
    expected = flatten(struct)
    if len(signature) > 1 and len(signature) == len(expected) and all(
            is_leaf(s) for s in signature):
        signature = [list(signature)]
    if len(signature) != 1:
        raise ExportError(
            f"input_signature gives {len(signature)} arguments, but model '{model.name}' takes "
            f"its {len(expected)} input(s) as one argument. Pass "
            f"`input_signature=[{_structure_hint(struct)}]`."
        )
    given = signature[0]
    if isinstance(given, dict) and not isinstance(struct, dict):
        names = [_input_name(t) for t in expected]
        if set(given) != set(names):
            raise ExportError(
                f"input_signature's dict has keys {sorted(given)}, but model '{model.name}' "
                f"has inputs named {names}. Use those names as keys."
            )
        pairs = [(n, t, given[n]) for n, t in zip(names, expected)]
    else:
        leaves = flatten(given)
        if len(leaves) != len(expected) or type(given) is dict and set(given) != set(struct):
            raise ExportError(
                f"input_signature has {len(leaves)} spec(s) but model '{model.name}' has "
                f"{len(expected)} input(s) {[_input_name(t) for t in expected]}. Pass "
                f"`input_signature=[{_structure_hint(struct)}]`."
            )
        pairs = [(_input_name(t), t, s) for t, s in zip(expected, leaves)]
    problems = [_mismatch(name, t, spec) for name, t, spec in pairs]
    problems = [p for p in problems if p]
    if problems:
        raise ExportError(
            f"input_signature does not match the inputs of model '{model.name}':\n  "
            + "\n  ".join(problems)
            + "\nFix the InputSpecs, or omit input_signature to use the model's own inputs."
        )
    return signature


def _structure_hint(struct):
    if isinstance(struct, dict):
        return "{" + ", ".join(f"{k!r}: InputSpec(...)" for k in struct) + "}"
    if isinstance(struct, (list, tuple)):
        return "[" + ", ".join("InputSpec(...)" for _ in struct) + "]"
    return "InputSpec(...)"


def _mismatch(name, tensor, spec):
    shape, want = spec.shape, tensor.shape
    bad_shape = len(shape) != len(want) or any(
        w is not None and s is not None and w != s for w, s in zip(want, shape))
    bad_dtype = dtypes.is_float(spec.dtype) != dtypes.is_float(tensor.dtype)
    if bad_shape or bad_dtype:
        return (f"input '{name}' expects {tensor.dtype} shape={want}; the signature gives "
                f"{spec.dtype} shape={shape}")
    return None


# -- naming ---------------------------------------------------------------------------------
def arg_names(fn, count):
    """Names of the first `count` positional parameters of `fn`, else `args_0`, `args_1`..."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = []
    for p in params:
        if p.kind not in kinds:
            break
        named.append(p.name)
    if len(named) >= count and not _is_layer_call(fn):
        return named[:count]
    return [f"args_{i}" for i in range(count)]


def _is_layer_call(fn):
    """A model or its `__call__`: Keras names those arguments `args_0`, ..."""
    from kiln.layers.layer import Layer

    if isinstance(fn, Layer):
        return True
    owner = getattr(fn, "__self__", None)
    return isinstance(owner, Layer) and getattr(fn, "__name__", "") in ("__call__", "forward")


# -- tracing helpers --------------------------------------------------------------------------
def dynamic_shapes(signature):
    """`torch.export` dynamic shapes: a shared `batch` Dim on axis 0, AUTO on other Nones."""
    batch = torch.export.Dim("batch")

    def one(spec):
        dims = {}
        for axis, size in enumerate(spec.shape):
            if size is None:
                dims[axis] = batch if axis == 0 else torch.export.Dim.AUTO
        return dims or None

    return tuple(map_structure(one, arg) for arg in signature)


def sample_args(signature):
    """Concrete tensors matching the signature (ones for floats, zeros otherwise)."""

    def one(spec):
        shape = [(SAMPLE_BATCH if axis == 0 else SAMPLE_DIM) if d is None else d
                 for axis, d in enumerate(spec.shape)]
        dtype = dtypes.to_torch(spec.dtype)
        if dtypes.is_float(spec.dtype):
            return torch.ones(shape, dtype=dtype)
        return torch.zeros(shape, dtype=dtype)

    return tuple(map_structure(one, arg) for arg in signature)


# -- JSON form ------------------------------------------------------------------------------
def to_json(structure):
    """Tagged JSON: `{"tensor": {...}}`, `{"list": [...]}`, `{"tuple": [...]}` and
    `{"dict": [[key, value], ...]}` (key order kept)."""
    if isinstance(structure, dict):
        return {"dict": [[str(k), to_json(v)] for k, v in structure.items()]}
    if isinstance(structure, tuple):
        return {"tuple": [to_json(v) for v in structure]}
    if isinstance(structure, list):
        return {"list": [to_json(v) for v in structure]}
    return {"tensor": {"shape": list(structure.shape), "dtype": structure.dtype,
                       "name": structure.name}}


def from_json(data, where="manifest"):
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"{where}: malformed signature entry {data!r}.")
    (tag, value), = data.items()
    if tag == "tensor":
        shape = value.get("shape")
        if not isinstance(shape, list) or not all(d is None or isinstance(d, int) for d in shape):
            raise ValueError(f"{where}: malformed tensor shape {shape!r}.")
        return InputSpec(shape=tuple(shape), dtype=value.get("dtype"), name=value.get("name"))
    if tag in ("list", "tuple") and isinstance(value, list):
        items = [from_json(v, where) for v in value]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and isinstance(value, list):
        return {str(k): from_json(v, where) for k, v in value}
    raise ValueError(f"{where}: unknown signature tag {tag!r}.")


# -- printing -------------------------------------------------------------------------------
def describe_spec(spec):
    if spec is None or spec.dtype is None:
        return "non-tensor value"
    shape = "(" + ", ".join("None" if d is None else str(d) for d in spec.shape) + \
        ("," if len(spec.shape) == 1 else "") + ")"
    return f"{spec.dtype} Tensor, shape={shape}"


def describe(structure, indent):
    """Lines describing a (nested) spec structure, TF's endpoint-summary style."""
    pad = " " * indent
    if is_leaf(structure):
        return [pad + describe_spec(structure)]
    lines = []
    items = structure.items() if isinstance(structure, dict) else enumerate(structure)
    for key, value in items:
        label = repr(key) if isinstance(structure, dict) else f"[{key}]"
        if is_leaf(value):
            lines.append(f"{pad}{label}: {describe_spec(value)}")
        else:
            lines.append(f"{pad}{label}:")
            lines.extend(describe(value, indent + 2))
    return lines
