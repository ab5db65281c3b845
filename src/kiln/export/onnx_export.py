"""`model.export(path, format="onnx")`: an ONNX file with a dynamic batch dimension.

The model is first traced with `torch.export` (the same program the torch artifact
holds), so untraceable code fails with the same clear error. Then PyTorch's
TorchScript-based ONNX exporter converts the model itself, whose tracer keeps shape
arithmetic such as `x.reshape(x.shape[0], -1)` symbolic; if that fails (some ops, e.g.
`layer_norm` with a traced shape, have no symbolic form), it converts the `torch.export`
program instead. Either result is accepted only if onnxruntime (when installed) runs it at
sizes other than the traced ones and matches the program's outputs: the TorchScript
tracer can silently bake a sample size into the graph. Inputs are flattened and named
after the signature's specs (`input_{i}` when unnamed); dimension 0 of every input whose
batch is None is the dynamic axis `batch`.
"""

import os
import shutil
import tempfile
import warnings

import numpy as np
import torch

from kiln.core import dtypes
from kiln.errors import ExportError
from kiln.export import signatures, tracing

_TWO_GB = 2 * 1024**3


def export_onnx(model, filepath, signature, verbose=True, opset_version=None,
                external_data=None, **kwargs):
    """Writes `model` to `filepath` as ONNX; weights go to `<file>.data` when asked or > 2 GB."""
    if kwargs:
        raise ExportError(
            f"Unsupported arguments for format='onnx': {sorted(kwargs)}. Accepted: "
            "opset_version, external_data."
        )
    path = os.fspath(filepath)
    if os.path.isdir(path):
        raise ExportError(f"{path!r} is a directory; format='onnx' writes one `.onnx` file.")
    program, inputs, outputs = tracing.trace(model, [model], signature, "serve")
    flat_inputs = signatures.flatten(tuple(inputs))
    input_names = _unique([spec.name or f"input_{i}" for i, spec in enumerate(flat_inputs)])
    output_names, flat_outputs = _output_names(outputs)
    axes = _dynamic_axes(input_names, flat_inputs)
    axes.update(_dynamic_axes(output_names, flat_outputs))
    sample = tuple(signatures.flatten(signatures.sample_args(inputs)))
    routes = (  # the model itself first: its tracer keeps shape arithmetic symbolic
        ("the model", lambda: tracing.FlatEndpointModule(
            tracing.EndpointModule(model, [model]), inputs)),
        ("the torch.export program", lambda: tracing.FlatEndpointModule(
            program.module(), inputs)),
    )
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=directory)
    staged = os.path.join(tmp, os.path.basename(path))
    failures = []
    try:
        for route, make_module in routes:
            try:
                _torch_onnx_export(make_module(), sample, staged, input_names, output_names,
                                   axes, opset_version)
                problem = _check(staged, program, inputs, input_names)
            except Exception as err:
                problem = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:400]}"
            if problem is None:
                break
            failures.append(f"  converting {route}: {problem}")
            _clear(tmp)
        else:
            raise ExportError(
                f"Exporting model '{model.name}' to ONNX failed (format='torch' works; the "
                "model traced fine with torch.export):\n" + "\n".join(failures) + "\nAn "
                "operation probably has no ONNX equivalent in PyTorch's exporter, or needs a "
                "fixed size: try an input_signature without None dimensions other than the "
                "batch.")
        for name in _finalize(staged, external_data):  # side data first, the .onnx last
            os.replace(os.path.join(tmp, name), os.path.join(directory, name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if verbose:
        print(f"Saved artifact at '{path}'.")


def _dynamic_axes(names, specs):
    axes = {}
    for name, spec in zip(names, specs):
        dims = {a: ("batch" if a == 0 else f"{name}_dim{a}")
                for a, d in enumerate(spec.shape if spec is not None else ()) if d is None}
        if dims:
            axes[name] = dims
    return axes


def _clear(directory):
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))


def _check(onnx_path, program, inputs, input_names):
    """Runs the ONNX file at sizes other than the traced ones (batch 2, other dynamic axes
    40) and compares with the torch program; returns a problem description or None.

    Skipped (None) when onnxruntime is not installed.
    """
    try:
        import onnxruntime
    except ImportError:
        return None
    torch.manual_seed(0)

    def one(spec):
        shape = [(2 if axis == 0 else 40) if d is None else d for axis, d in enumerate(spec.shape)]
        dtype = dtypes.to_torch(spec.dtype)
        if dtypes.is_float(spec.dtype):
            return torch.rand(shape, dtype=dtype)
        return torch.zeros(shape, dtype=dtype)

    args = tuple(signatures.map_structure(one, arg) for arg in inputs)
    with torch.no_grad():
        expected = signatures.flatten(program.module()(*args))
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    feed = {n: t.numpy() for n, t in zip(input_names, signatures.flatten(args))}
    try:
        got = session.run(None, feed)
    except Exception as err:
        return (f"the ONNX graph does not run at other input sizes ({type(err).__name__}: "
                f"{str(err).strip().splitlines()[0][:300]}); a size was baked in")
    for i, (a, b) in enumerate(zip(got, expected)):
        if a.shape != tuple(b.shape) or not np.allclose(a, b.numpy(), rtol=1e-4, atol=1e-4):
            return (f"output {i} differs from the model's at other input sizes (ONNX shape "
                    f"{a.shape}, expected {tuple(b.shape)}); a size was baked in")
    return None


def _unique(names):
    out, used = [], set()
    for name in names:
        candidate, n = name, 1
        while candidate in used:
            candidate, n = f"{name}_{n}", n + 1
        used.add(candidate)
        out.append(candidate)
    return out


def _output_names(outputs):
    flat = signatures.flatten(outputs) if outputs is not None else []
    if isinstance(outputs, dict) and all(signatures.is_leaf(v) for v in outputs.values()):
        return _unique([str(k) for k in outputs]), flat
    return [f"output_{i}" for i in range(len(flat))], flat


def _torch_onnx_export(module, args, path, input_names, output_names, dynamic_axes, opset):
    options = dict(dynamo=False, export_params=True, do_constant_folding=True,
                   input_names=input_names, output_names=output_names,
                   dynamic_axes=dynamic_axes, training=torch.onnx.TrainingMode.PRESERVE)
    if opset is not None:
        options["opset_version"] = int(opset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, path, **options)


def _finalize(staged, external_data):
    """Moves weights to one `<name>.data` file when asked (or when torch already split them).

    Returns the file names to publish, the `.onnx` file last.
    """
    import onnx

    directory, name = os.path.split(staged)
    others = [f for f in os.listdir(directory) if f != name]
    size = os.path.getsize(staged) + sum(os.path.getsize(os.path.join(directory, f))
                                         for f in others)
    if not others and not external_data and not (external_data is None and size > _TWO_GB):
        return [name]
    proto = onnx.load(staged, load_external_data=True)
    for f in others:
        os.remove(os.path.join(directory, f))
    data_name = name + ".data"
    onnx.save_model(proto, staged, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data_name, size_threshold=1024)
    return [data_name, name]
