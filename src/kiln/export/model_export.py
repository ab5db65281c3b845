"""`model.export(filepath, format=...)`: the one-call export of a model's inference pass."""

import os

from kiln.errors import ExportError
from kiln.export import signatures

SUPPORTED_FORMATS = ("torch", "onnx")
_TENSORFLOW_FORMATS = ("tf_saved_model", "saved_model", "tf", "litert", "tflite", "openvino")


def export_model(model, filepath, format="torch", verbose=True, input_signature=None,
                 **kwargs):
    """Exports `model`'s forward pass (inference mode) for serving.

    Args:
        model: A built `kiln.Model` (called at least once, or built from an `Input`).
        filepath: For `format="torch"`, the artifact directory (a path ending in `.pt2`
            writes just the `serve` program as one file, as Keras 3 does); for `"onnx"`,
            the `.onnx` file.
        format: `"torch"` (a directory of `torch.export` programs that plain PyTorch
            loads) or `"onnx"` (a file onnxruntime runs).
        verbose: Print the saved endpoints.
        input_signature: Optional list of `kiln.InputSpec`s (nested lists/dicts for
            multi-input models). Defaults to the model's inputs with a dynamic batch.
        **kwargs: For `"onnx"`: `opset_version` and `external_data` (True to store the
            weights in a `<file>.data` side file; automatic above 2 GB).

    Example:
        >>> model.export("exported_model")
        >>> artifact = kiln.export.load("exported_model")
        >>> artifact.serve(x)
    """
    if format in _TENSORFLOW_FORMATS:
        raise ExportError(
            f"format={format!r} produces a TensorFlow/vendor artifact, which kiln (a PyTorch "
            f"library) does not write. Use format='torch' (a directory of torch.export "
            f"programs, loadable with kiln.export.load or plain torch) or format='onnx'."
        )
    if format not in SUPPORTED_FORMATS:
        raise ValueError(f"Unrecognized format={format!r}. Supported formats are: "
                         f"{list(SUPPORTED_FORMATS)}.")
    signature = model_signature(model, input_signature)
    if format == "onnx":
        from kiln.export import onnx_export

        return onnx_export.export_onnx(model, filepath, signature, verbose=verbose, **kwargs)
    if kwargs:
        raise ExportError(
            f"Unsupported arguments for format='torch': {sorted(kwargs)}. model.export() "
            "accepts filepath, format, verbose and input_signature."
        )
    archive = build_archive(model, signature)
    if os.fspath(filepath).endswith(".pt2"):
        return _write_single_program(archive, os.fspath(filepath), verbose)
    archive.write_out(filepath, verbose=verbose)


def _write_single_program(archive, path, verbose):
    """Keras 3's `format="torch"` layout: one `.pt2` file, `torch.export.load`-able."""
    import torch

    from kiln.saving.atomic import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as f:
        torch.export.save(archive.endpoint_program("serve"), f)
    if verbose:
        print(f"Saved PyTorch ExportedProgram at '{path}'.")


def model_signature(model, input_signature=None):
    """The endpoint signature for `model`: the user's (checked) or the model's own."""
    if not model.built:
        signatures.default_signature(model)  # raises the "not built" error
    if input_signature is None:
        return signatures.default_signature(model)
    return signatures.fit_to_model(model, signatures.normalize(input_signature))


def build_archive(model, signature):
    """An ExportArchive tracking `model` with its `serve` endpoint traced."""
    from kiln.export.export_archive import ExportArchive

    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", model, signature)
    return archive
