"""kiln: the Keras 3 API on PyTorch, built around saving, serializing and exporting models.

Subpackages load on first use (`kiln.layers`, `kiln.saving`, ...), so `import kiln`
stays cheap next to `import torch`.
"""

import importlib

__version__ = "0.1.0"

from kiln.core.variable import Variable  # noqa: E402

_SUBPACKAGES = (
    "activations", "callbacks", "checkpoint", "config", "constraints", "datasets", "errors",
    "export", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers",
    "random", "regularizers", "saving", "testing", "utils", "dtype_policies",
)
# Top-level names that live in a subpackage, resolved lazily.
_LAZY = {
    "Input": "kiln.layers",
    "InputSpec": "kiln.layers",
    "Layer": "kiln.layers",
    "Model": "kiln.models",
    "Sequential": "kiln.models",
    "DTypePolicy": "kiln.dtype_policies",
}

__all__ = ["Variable", "Input", "InputSpec", "Layer", "Model", "Sequential", "DTypePolicy",
           *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"kiln.{name}")
        globals()[name] = module
        return module
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kiln' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
