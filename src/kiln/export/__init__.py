"""Inference artifacts: `model.export()`, `ExportArchive` and `load`.

`format="torch"` writes a directory of `torch.export` programs that plain PyTorch can
load (see docs/formats/torch-artifact.md); `format="onnx"` writes an ONNX file.

Example:
    >>> model.export("exported_model")
    >>> artifact = kiln.export.load("exported_model")
    >>> artifact.serve(x)
"""

from kiln.export.export_archive import ExportArchive
from kiln.export.loader import load
from kiln.export.model_export import export_model

__all__ = ["export_model", "ExportArchive", "load"]
