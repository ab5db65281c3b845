"""Tracing a kiln function into a `torch.export` program, with errors that name the layer.

kiln layers are `torch.nn.Module`s, but their variables live on `kiln.Variable` objects
(and layers keep lists of sublayers as plain Python lists). `torch.export` (non-strict)
swaps a module's registered parameters for tracing proxies by attribute path, so the
traced module is a small holder of the tensors instead (`EndpointModule`), and each
Variable is pointed at the holder's proxy while tracing. The program then reads weights
as parameters (lifted into its state dict) instead of baking them in as constants.
"""

import contextlib
import io
import logging
import os
import warnings

import torch

from kiln.core import call_context
from kiln.core.tensor import EagerTensor
from kiln.errors import ExportError
from kiln.export import signatures
from kiln.layers.input_spec import InputSpec


class EndpointModule(torch.nn.Module):
    """The plain `torch.nn.Module` that gets traced: `forward(*args)` runs `fn` for inference.

    torch never walks kiln's layer tree: every tensor the tracked resources own (kiln
    variables and any plain torch parameters/buffers) is registered once on a holder
    module `state`, named by variable path (`state.dense.kernel`). While `forward` runs,
    every place that refers to such a tensor (the Variable, the owning module's parameter
    slot) is pointed at the holder's current entry, which is torch's tracing proxy during
    `torch.export`. `fn` runs with kiln's call context marking inference (training off).
    """

    def __init__(self, fn, resources):
        super().__init__()
        self.state = torch.nn.Module()
        object.__setattr__(self, "_endpoint_fn", fn)
        object.__setattr__(self, "_slots", _collect_state(self.state, resources))

    def forward(self, *args):
        with inference_scope(self):
            return _plain(self._endpoint_fn(*args))


class FlatEndpointModule(torch.nn.Module):
    """Takes the signature's leaves as flat positional tensors (for ONNX)."""

    def __init__(self, inner, signature):
        super().__init__()
        self.inner = inner
        object.__setattr__(self, "_signature", signature)

    def forward(self, *flat):
        return self.inner(*signatures.unflatten(tuple(self._signature), flat))


def _safe(name):
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "_"
    return name if not name[0].isdigit() else "_" + name


def _place(holder, path, tensor, as_parameter):
    """Registers `tensor` under the nested name `path` (parts joined by '/'); returns
    `(module, key)`. Clashing names get a numeric suffix."""
    parts = [_safe(p) for p in str(path).split("/") if p] or ["tensor"]
    module = holder
    for part in parts[:-1]:
        child = module._modules.get(part)
        if child is None:
            if part in module._parameters or part in module._buffers:
                part = part + "_"
            child = module._modules.get(part)
            if child is None:
                child = torch.nn.Module()
                module.add_module(part, child)
        module = child
    key, n = parts[-1], 1
    while key in module._parameters or key in module._buffers or key in module._modules \
            or hasattr(torch.nn.Module, key):
        key, n = f"{parts[-1]}_{n}", n + 1
    if as_parameter and isinstance(tensor, torch.nn.Parameter):
        module.register_parameter(key, tensor)
    else:
        module.register_buffer(key, tensor)
    return module, key


def _collect_state(holder, resources):
    """Registers every tensor of `resources` on `holder`; returns the slot records
    `[(tensor, holder_module, key, variables, module_slots)]`."""
    from kiln.layers.layer import Layer

    records = {}

    def record(tensor, path, as_parameter):
        entry = records.get(id(tensor))
        if entry is None:
            module, key = _place(holder, path, tensor, as_parameter)
            entry = records[id(tensor)] = (tensor, module, key, [], [])
        return entry

    for resource in resources:
        for module_name, module in resource.named_modules(remove_duplicate=False):
            if isinstance(module, Layer):
                for key, variable in module._variable_keys.items():
                    tensor = variable._value
                    entry = record(tensor, variable.path or f"{module.name}/{key}",
                                   variable.trainable)
                    if not any(v is variable for v in entry[3]):
                        entry[3].append(variable)
            for kind in ("_parameters", "_buffers"):
                for key, tensor in getattr(module, kind).items():
                    if tensor is None:
                        continue
                    path = "/".join(filter(None, [getattr(resource, "name", None) or "module",
                                                  *module_name.split("."), key]))
                    entry = record(tensor, path, kind == "_parameters")
                    entry[4].append((getattr(module, kind), key))
    return list(records.values())


@contextlib.contextmanager
def inference_scope(root):
    """kiln's call context for an exported call: nested depth, training off, bound state."""
    ctx = call_context.get()
    depth, training = ctx.depth, ctx.training
    ctx.depth += 1
    ctx.training = False
    try:
        with _bound_state(root):
            yield
    finally:
        ctx.depth, ctx.training = depth, training


@contextlib.contextmanager
def _bound_state(root):
    """Points every variable and parameter slot at the holder's current tensor."""
    swapped_vars, swapped_slots = [], []
    try:
        for tensor, module, key, variables, slots in getattr(root, "_slots", ()):
            current = module._parameters.get(key)
            if current is None:
                current = module._buffers.get(key)
            if current is None or current is tensor:
                continue
            for variable in variables:
                swapped_vars.append((variable, variable._value))
                variable._value = current
            for table, name in slots:
                swapped_slots.append((table, name, table[name]))
                table[name] = current
        yield
    finally:
        for variable, value in reversed(swapped_vars):
            variable._value = value
        for table, name, value in reversed(swapped_slots):
            table[name] = value


def _plain(outputs):
    if isinstance(outputs, EagerTensor):
        return outputs.as_subclass(torch.Tensor)
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_plain(o) for o in outputs)
    if isinstance(outputs, dict):
        return {k: _plain(v) for k, v in outputs.items()}
    if outputs is None or isinstance(outputs, torch.Tensor):
        return outputs
    from kiln.core.variable import Variable

    if isinstance(outputs, Variable):
        return outputs.value
    raise ExportError(
        f"An exported function must return tensors (or lists/dicts of tensors); it returned "
        f"a {type(outputs).__name__}. Return kiln/torch tensors from the endpoint function."
    )


def trace(fn, resources, signature, endpoint):
    """Exports `fn(*signature)` with `torch.export`; returns `(program, inputs, outputs)`.

    `inputs` is the signature with the dimensions the program actually keeps dynamic;
    `outputs` the output spec structure read from the program.
    """
    module = EndpointModule(fn, resources)
    module.eval()
    args = signatures.sample_args(signature)
    try:
        program = _export(module, args, signature)
    except ExportError:
        raise
    except Exception as err:  # torch raises many types; each becomes one clear ExportError
        culprit = None
        if _is_batch_specialization(err):
            culprit = _specializing_layer(fn, resources, args, signature)
        raise translate(err, endpoint, signature, culprit) from err
    inputs = _traced_inputs(program, signature, endpoint)
    return program, inputs, _traced_outputs(program)


_NOISY_LOGGERS = ("torch.fx.experimental.symbolic_shapes", "torch.export", "torch._export",
                  "torch._dynamo", "torch._subclasses.fake_tensor",
                  "torch.fx.experimental.recording")


@contextlib.contextmanager
def _quiet_torch():
    """Silences torch's warnings, log records and stderr dumps (torch prints the partial
    graph of a failed export) while tracing; errors still propagate."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _export(module, args, signature):
    dims = signatures.dynamic_shapes(signature)
    with _quiet_torch():
        return torch.export.export(module, args, dynamic_shapes=(dims,), strict=False)


def _is_batch_specialization(err):
    text = str(err)
    return "Constraints violated" in text and "batch" in text


def _specializing_layer(fn, resources, args, signature):
    """Re-traces with every layer's `call` watched; returns the first layer after whose
    call the batch size had become a constant (None if it cannot tell)."""
    from kiln.layers.layer import Layer

    state = {"found": None, "batch": None}

    def batch_is_fixed():
        size = state["batch"]
        if not isinstance(size, torch.SymInt):
            return False
        try:
            return size.node.shape_env.replace(size.node.expr).is_number
        except Exception:
            return False

    def watched(layer, original):
        def call(*a, **k):
            out = original(*a, **k)
            if state["found"] is None and batch_is_fixed():
                state["found"] = layer
            return out
        return call

    def entry(*a):
        leaves = signatures.flatten(a)
        state["batch"] = leaves[0].shape[0] if leaves and leaves[0].dim() else None
        return fn(*a)

    layers = {id(m): m for r in resources for m in r.modules() if isinstance(m, Layer)}
    for layer in layers.values():
        object.__setattr__(layer, "call", watched(layer, layer.call))
    try:
        _export(EndpointModule(entry, resources), args, signature)
    except Exception:
        pass
    finally:
        for layer in layers.values():
            layer.__dict__.pop("call", None)
    return state["found"]


def user_stacklevel():
    """The `stacklevel` that makes a warning point at the first caller outside kiln."""
    import sys

    kiln_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(kiln_dir):
        frame, level = frame.f_back, level + 1
    return level


def _placeholder_shapes(program):
    user = set(program.graph_signature.user_inputs)
    return [tuple(n.meta["val"].shape) for n in program.graph.nodes
            if n.op == "placeholder" and n.name in user]


def _dims(shape):
    return tuple(d if isinstance(d, int) else None for d in shape)


def _traced_inputs(program, signature, endpoint):
    shapes = _placeholder_shapes(program)
    leaves = signatures.flatten(tuple(signature))
    if len(shapes) != len(leaves):  # an input the function never reads is still an input
        return signature
    traced = []
    for (path, spec), shape in zip(signatures.leaf_paths(tuple(signature), "args"), shapes):
        dims = _dims(shape)
        fixed = [i for i, (want, got) in enumerate(zip(spec.shape, dims))
                 if want is None and got is not None]
        if fixed:
            warnings.warn(
                f"Endpoint '{endpoint}': input {path} was declared with shape {spec.shape}, "
                f"but the traced program only supports size(s) "
                f"{[dims[i] for i in fixed]} on axis/axes {fixed} (the model's code fixes "
                "them). The artifact records the fixed sizes.", stacklevel=user_stacklevel())
        traced.append(InputSpec(shape=tuple(spec.shape[i] if spec.shape[i] is not None
                                            else dims[i] for i in range(len(dims))),
                                dtype=spec.dtype, name=spec.name))
    return list(signatures.unflatten(tuple(signature), traced))


def _traced_outputs(program):
    from torch.utils import _pytree

    from kiln.core import dtypes

    output_node = next(n for n in program.graph.nodes if n.op == "output")
    user_outputs = program.graph_signature.user_outputs
    nodes = [a for a in output_node.args[0] if getattr(a, "name", None) in user_outputs] \
        if len(output_node.args[0]) != len(user_outputs) else list(output_node.args[0])
    specs = []
    for node in nodes:
        val = node.meta.get("val") if hasattr(node, "meta") else None
        if isinstance(val, torch.Tensor):
            specs.append(InputSpec(shape=_dims(val.shape), dtype=dtypes.standardize(val.dtype)))
        else:
            specs.append(None)
    structure = _pytree.tree_unflatten(specs, program.call_spec.out_spec)
    return _pytree_to_builtin(structure)


def _pytree_to_builtin(x):
    if isinstance(x, dict):
        return {k: _pytree_to_builtin(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_pytree_to_builtin(v) for v in x) if type(x) in (list, tuple) \
            else list(_pytree_to_builtin(v) for v in x)
    return x


# -- errors ----------------------------------------------------------------------------------
_DATA_DEPENDENT = ("data-dependent", "data dependent", "GuardOnDataDependentSymNode",
                   "Could not guard on data-dependent", "Could not extract specialized integer")


def _where(err):
    """`(layer, "file:line")` of the innermost kiln layer `call` active when `err` was raised."""
    from kiln.layers.layer import Layer

    layer, location, user_line = None, None, None
    tb = err.__traceback__
    torch_dir = os.path.dirname(torch.__file__)
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self")
        filename = frame.f_code.co_filename
        if isinstance(owner, Layer) and frame.f_code.co_name == "call":
            layer = owner
            location = f"{filename}:{tb.tb_lineno}"
        if not filename.startswith(torch_dir) and "/kiln/export/" not in filename:
            user_line = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return layer, location or user_line


def translate(err, endpoint, signature, culprit=None):
    """Turns a tracing failure into an ExportError naming the layer and the fix."""
    layer, location = _where(err)
    if layer is not None:
        where = f"layer '{layer.name}' ({type(layer).__name__}.call, {location})"
    elif culprit is not None:
        where = f"layer '{culprit.name}' ({type(culprit).__name__}.call)"
    else:
        where = f"the endpoint function ({location})" if location else "the endpoint function"
    text = f"{type(err).__name__}: {err}"
    first = text.strip().splitlines()[0][:500]
    specs = "; ".join(f"{p}: {signatures.describe_spec(s)}"
                      for p, s in signatures.leaf_paths(tuple(signature), "args"))
    if any(marker in text for marker in _DATA_DEPENDENT):
        return ExportError(
            f"Cannot export endpoint '{endpoint}': {where} uses Python control flow that "
            "depends on the values in a tensor (an `if`/`while` on a tensor, `bool(t)`, "
            "`t.item()`, or a shape computed from data). An exported program is a fixed "
            "graph and cannot represent that. Rewrite the branch with tensor operations "
            "(e.g. `kiln.ops.where(cond, a, b)`), or move it out of `call()`.\n"
            f"torch reported: {first}")
    if _is_batch_specialization(err):
        detail = "\n".join(line for line in text.splitlines()[1:6] if line.strip())
        return ExportError(
            f"Cannot export endpoint '{endpoint}' with a dynamic batch dimension: {where} "
            "needs the batch size to be a fixed number (it uses it as a Python int, e.g. in "
            "a reshape). Either make that code batch-agnostic (use -1 in reshapes, "
            "`kiln.ops.shape(x)[0]`), or fix the batch in the signature: "
            "`input_signature=[kiln.InputSpec(shape=(N, ...))]`.\n"
            f"torch reported: {first}\n{detail}")
    return ExportError(
        f"Cannot export endpoint '{endpoint}': tracing failed in {where} with input "
        f"signature ({specs}).\n{first}\n"
        "Check that input_signature matches what the model expects (shapes, dtypes, number "
        "of inputs), and that the model runs on such inputs: call it once on data first.")
