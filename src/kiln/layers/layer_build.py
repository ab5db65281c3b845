"""Building layers and inferring output shapes without computing anything real.

Symbolic calls (on `kiln.Input` tensors) run the layer's `call` on torch's meta
device: tensors there have shapes and dtypes but no storage, so shape inference of even
a very large layer costs nothing. Unknown dimensions are traced twice with two
different sizes; output dimensions that change with them are unknown (None).
"""

import functools
import inspect

import torch

from kiln.core import call_context, dtypes
from kiln.core.keras_tensor import KerasTensor
from kiln.core.variable import in_symbolic_scope, symbolic_scope
from kiln.layers import input_spec as input_spec_lib

_FILLS = (83, 89)


@functools.lru_cache(maxsize=4096)
def signature(fn):
    """`inspect.signature`, cached per function (it is slow and called per layer)."""
    return inspect.signature(fn)


def _sig(bound_method):
    return signature(getattr(bound_method, "__func__", bound_method))


def to_shape(shape):
    """Config shapes (lists) back to tuples; nested lists of shapes stay lists."""
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [to_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: to_shape(v) for k, v in shape.items()}
    return tuple(None if d is None else int(d) for d in shape)


def _shape_of(x):
    if isinstance(x, KerasTensor):
        return x.shape
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return None


def _is_tensorish(x):
    if isinstance(x, (KerasTensor, torch.Tensor)):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(_is_tensorish(v) for v in x)
    if isinstance(x, dict) and x:
        return all(_is_tensorish(v) for v in x.values())
    return False


def any_symbolic(args, kwargs):
    stack = list(args) + list(kwargs.values())
    while stack:
        x = stack.pop()
        if isinstance(x, KerasTensor):
            return True
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return False


def wrap_build(cls):
    """Makes a subclass's own `build` mark the layer built and scope variable names."""
    build = cls.__dict__.get("build")
    if build is None or getattr(build, "_kiln_wrapped", False):
        return

    @functools.wraps(build)
    def wrapped(self, *args, **kwargs):
        ctx = call_context.get()
        ctx.name_scope.append(self.name)
        try:
            with torch.device("cpu"):
                result = build(self, *args, **kwargs)
        finally:
            ctx.name_scope.pop()
        if self._build_shapes_dict is None:
            if args:
                self._build_shapes_dict = {"input_shape": _config_shape(args[0])}
            elif kwargs:
                self._build_shapes_dict = {k: _config_shape(v) for k, v in kwargs.items()}
        self.built = True
        return result

    wrapped._kiln_wrapped = True
    cls.build = wrapped


def _config_shape(shape):
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_config_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _config_shape(v) for k, v in shape.items()}
    try:
        return tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        return shape


def _shapes_dict(layer, args, kwargs):
    """`{"<arg>_shape": shape}` for every tensor argument of `call`, as Keras records them."""
    try:
        bound = _sig(layer.call).bind(None, *args, **kwargs) if hasattr(
            layer.call, "__func__") else _sig(layer.call).bind(*args, **kwargs)
    except TypeError:
        return {"input_shape": _shape_of(args[0]) if args else None}
    shapes = {}
    for name, value in bound.arguments.items():
        if name in ("training", "mask") or name.endswith("_mask") or not _is_tensorish(value):
            continue
        param = _sig(layer.call).parameters[name]
        if param.kind == param.VAR_POSITIONAL:
            value = value[0] if len(value) == 1 else list(value)
        elif param.kind == param.VAR_KEYWORD:
            continue
        shapes[f"{name}_shape"] = _shape_of(value)
    return shapes or {"input_shape": _shape_of(args[0]) if args else None}


def maybe_build(layer, args, kwargs):
    """Builds `layer` from the shapes of its first call's arguments."""
    if layer.built:
        return
    shapes = _shapes_dict(layer, args, kwargs)
    build_params = [p for p in _sig(layer.build).parameters.values()
                    if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if hasattr(layer.build, "__func__"):
        build_params = build_params[1:]  # drop `self`
    with torch.device("cpu"), _real_scope():
        if len(shapes) > 1 and len(build_params) > 1 and all(
            k in {p.name for p in build_params} for k in shapes
        ):
            layer.build(**shapes)
        else:
            layer.build(next(iter(shapes.values())))
    layer._build_shapes_dict = shapes
    layer.built = True
    if layer._initial_weights is not None:
        layer.set_weights(layer._initial_weights)
        layer._initial_weights = None
    check_input_spec(layer, args)


class _real_scope:
    """Leaves the symbolic (meta) scope while variables are created."""

    def __enter__(self):
        from kiln.core import variable

        self._prev = in_symbolic_scope()
        variable._state.symbolic = False

    def __exit__(self, *exc):
        from kiln.core import variable

        variable._state.symbolic = self._prev


def check_input_spec(layer, args):
    spec = layer.input_spec
    if spec is None or not args:
        return
    first = args[0]
    if isinstance(spec, (list, tuple)):
        inputs = first if isinstance(first, (list, tuple)) else [first]
        for i, (s, x) in enumerate(zip(spec, inputs)):
            input_spec_lib.check_input(s, _shape_of(x), layer.name, i)
    else:
        cache = isinstance(first, torch.Tensor) and not torch.compiler.is_compiling()
        if cache:
            # A layer is mostly called with one input shape: remember the last one that
            # passed (in __dict__ directly, past torch.nn.Module's slow __setattr__).
            # Not while torch traces: comparing symbolic sizes would specialize them.
            passed = layer.__dict__.get("_input_spec_passed")
            if passed is not None and passed[0] is spec and passed[1] == first.shape:
                return
        shape = _shape_of(first)
        if isinstance(shape, tuple):
            input_spec_lib.check_input(spec, shape, layer.name)
            if cache:
                layer.__dict__["_input_spec_passed"] = (spec, first.shape)


def _to_meta(x, fill):
    if isinstance(x, KerasTensor):
        shape = [fill if d is None else d for d in x.shape]
        return torch.empty(shape, dtype=dtypes.to_torch(x.dtype), device="meta")
    if isinstance(x, (list, tuple)):
        return type(x)(_to_meta(v, fill) for v in x)
    if isinstance(x, dict):
        return {k: _to_meta(v, fill) for k, v in x.items()}
    return x


def _to_real(x, fill):
    if isinstance(x, KerasTensor):
        shape = [fill if d is None else d for d in x.shape]
        return torch.zeros(shape, dtype=dtypes.to_torch(x.dtype))
    if isinstance(x, (list, tuple)):
        return type(x)(_to_real(v, fill) for v in x)
    if isinstance(x, dict):
        return {k: _to_real(v, fill) for k, v in x.items()}
    return x


def _run(layer, args, kwargs, fill, meta):
    ctx = call_context.get()
    ctx.depth += 1
    try:
        if meta:
            with symbolic_scope(), torch.device("meta"):
                return layer.call(*_to_meta(args, fill), **_to_meta(kwargs, fill))
        with torch.no_grad():
            return layer.call(*_to_real(args, fill), **_to_real(kwargs, fill))
    finally:
        ctx.depth -= 1


def _merge(a, b):
    if isinstance(a, torch.Tensor):
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        return KerasTensor(shape, dtypes.standardize(a.dtype))
    if isinstance(a, (list, tuple)):
        return type(a)(_merge(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _merge(a[k], b[k]) for k in a}
    return a


def trace_output_spec(layer, args, kwargs):
    """Output KerasTensors of `layer` called on symbolic `args`, found on the meta device."""
    if "training" in kwargs and isinstance(kwargs["training"], KerasTensor):
        kwargs = dict(kwargs, training=None)
    try:
        outs = [_run(layer, args, kwargs, f, meta=True) for f in _FILLS]
    except Exception as meta_error:  # some ops have no meta kernel: trace for real
        try:
            outs = [_run(layer, args, kwargs, f, meta=False) for f in (2, 3)]
        except Exception:
            raise meta_error from None
    return _merge(outs[0], outs[1])


def infer_output_shape(layer, args, kwargs):
    """Default `compute_output_shape`: trace with placeholders of the given shapes."""
    def to_kt(s):
        if isinstance(s, (list, tuple)) and s and isinstance(s[0], (list, tuple)):
            return [to_kt(x) for x in s]
        return KerasTensor(s, layer.compute_dtype)

    spec = trace_output_spec(layer, tuple(to_kt(a) for a in args), kwargs)
    return _spec_shape(spec)


def _spec_shape(spec):
    if isinstance(spec, KerasTensor):
        return spec.shape
    if isinstance(spec, (list, tuple)):
        return type(spec)(_spec_shape(s) for s in spec)
    if isinstance(spec, dict):
        return {k: _spec_shape(v) for k, v in spec.items()}
    return spec


def symbolic_call(layer, args, kwargs):
    """Calls `layer` on KerasTensors: builds it, infers outputs, and records a graph node."""
    from kiln.layers.node import Node

    if not layer.built:
        maybe_build(layer, args, kwargs)
    else:
        check_input_spec(layer, args)
    try:
        outputs = layer.compute_output_spec(*args, **kwargs)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) cannot be called on inputs with "
            f"shapes {[_shape_of(a) for a in args]}: {e}"
        ) from e
    except RuntimeError as e:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) failed on inputs with shapes "
            f"{[_shape_of(a) for a in args]}: {e}. Check that the previous layer's output "
            "shape is what this layer expects."
        ) from e
    outputs = _fresh(outputs)
    Node(layer, args, kwargs, outputs)
    layer._called = True
    return outputs


def _fresh(spec):
    """Copies output specs so each call gets its own KerasTensor objects."""
    if isinstance(spec, KerasTensor):
        return KerasTensor(spec.shape, spec.dtype)
    if isinstance(spec, (list, tuple)):
        return type(spec)(_fresh(s) for s in spec)
    if isinstance(spec, dict):
        return {k: _fresh(v) for k, v in spec.items()}
    return spec


def specs_from_shapes(shape, dtype):
    """KerasTensors for a `compute_output_shape` result (a shape or a structure of shapes)."""
    if isinstance(shape, dict):
        return {k: specs_from_shapes(v, dtype) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [specs_from_shapes(s, dtype) for s in shape]
    return KerasTensor(tuple(shape), dtype)
