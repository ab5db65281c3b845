"""`model.export(path, format="onnx")`: an ONNX file with a dynamic batch dimension.

The model is first traced with `torch.export` (the same program the torch artifact
holds, so untraceable code fails with the same clear error), then that program is
converted with PyTorch's TorchScript-based ONNX exporter. Inputs are flattened and named
after the signature's specs (`input_{i}` when unnamed); dimension 0 of every input whose
batch is None is the dynamic axis `batch`.
"""

import os
import shutil
import tempfile
import warnings

import torch

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
    dynamic_axes = {}
    for name, spec in zip(input_names, flat_inputs):
        axes = {a: ("batch" if a == 0 else f"{name}_dim{a}")
                for a, d in enumerate(spec.shape) if d is None}
        if axes:
            dynamic_axes[name] = axes
    for name, spec in zip(output_names, flat_outputs):
        axes = {a: ("batch" if a == 0 else f"{name}_dim{a}")
                for a, d in enumerate(spec.shape if spec is not None else ()) if d is None}
        if axes:
            dynamic_axes[name] = axes
    sample = signatures.flatten(signatures.sample_args(inputs))
    module = tracing.FlatEndpointModule(program.module(), inputs)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=directory)
    try:
        staged = os.path.join(tmp, os.path.basename(path))
        _torch_onnx_export(module, tuple(sample), staged, input_names, output_names,
                           dynamic_axes, opset_version)
        files = _finalize(staged, external_data)
        for name in files:  # side data first, the .onnx file last
            os.replace(os.path.join(tmp, name), os.path.join(directory, name))
    except ExportError:
        raise
    except Exception as err:
        raise ExportError(
            f"Exporting model '{model.name}' to ONNX failed: {type(err).__name__}: {err}. "
            "The model traced fine with torch.export (format='torch' works); an operation "
            "in it probably has no ONNX equivalent in PyTorch's exporter."
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if verbose:
        print(f"Saved artifact at '{path}'.")


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
