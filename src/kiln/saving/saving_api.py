"""Entry points for saving and loading, dispatched by file name (guides/README.md table).

| path                               | save_model / save       | save_weights / load_weights |
|------------------------------------|-------------------------|-----------------------------|
| `x.keras`                          | Keras 3 archive         | (load_weights reads its h5) |
| `x.weights.h5`, `x.weights.json`   | -                       | Keras 3 weights (sharded)   |
| `x.h5`, `x.hdf5`, save_format="h5" | legacy Keras 2 file     | legacy weights-only h5      |
| `x.safetensors`                    | -                       | safetensors                 |
| no extension / `.ckpt`             | model directory         | object-graph checkpoint     |
"""

import os

from kiln.errors import FileFormatError

_CHECKPOINT_HINT = (
    "Supported suffixes: `.keras` for whole models; `.weights.h5`, `.safetensors` and `.h5` "
    "for weights."
)


def _path(filepath):
    if isinstance(filepath, os.PathLike):
        filepath = os.fspath(filepath)
    return filepath


def _kind(path, save_format=None):
    if save_format is not None:
        fmt = str(save_format).lower()
        if fmt in ("h5", "hdf5"):
            return "h5"
        if fmt == "keras":
            return "keras"
        if fmt in ("tf", "saved_model", "directory"):
            return "directory"
        raise ValueError(
            f"Unknown save_format={save_format!r}. Use 'keras' or 'h5', or let the file name "
            "decide (`.keras`, `.h5`, or no extension for a model directory)."
        )
    lower = path.lower()
    if lower.endswith(".keras"):
        return "keras"
    if lower.endswith(".weights.h5"):
        return "weights_h5"
    if lower.endswith(".weights.json"):
        return "weights_sharded"
    if lower.endswith((".h5", ".hdf5")):
        return "h5"
    if lower.endswith(".safetensors") or lower.endswith(".safetensors.index.json"):
        return "safetensors"
    if lower.endswith(".ckpt") or not os.path.splitext(os.path.basename(path))[1]:
        return "directory"
    return "unknown"


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"


def _sniff(path, kind):
    """For an existing regular file whose name does not say its format (`save_format="h5"`
    with a bare name, say), the format its first bytes show; otherwise `kind` unchanged.
    Only kiln's own readers are chosen, so a file still cannot pick what code runs."""
    if kind not in ("directory", "unknown") or not os.path.isfile(path):
        return kind
    with open(path, "rb") as f:
        head = f.read(8)
    if head == _HDF5_MAGIC:
        return "weights_h5" if _is_keras3_weights_h5(path) else "h5"
    if head.startswith(_ZIP_MAGIC):
        return "keras"
    return kind


def _is_keras3_weights_h5(path):
    """Whether an HDF5 file holds Keras 3 `.weights.h5` layout (not Keras 2's, whose root
    carries `layer_names`)."""
    import h5py

    with h5py.File(path, "r") as f:
        return "layer_names" not in f.attrs and "model_weights" not in f


def save_model(model, filepath, overwrite=True, zipped=None, save_format=None,
               include_optimizer=True, **kwargs):
    """Saves `model` whole. The format follows the file name; see the module docstring."""
    if kwargs:
        raise ValueError(f"save_model() got unsupported arguments: {sorted(kwargs)}")
    if hasattr(filepath, "write") and hasattr(filepath, "seek"):
        from kiln.saving import keras_archive

        return keras_archive.save_model(model, filepath)
    path = _path(filepath)
    kind = _kind(path, save_format)
    if zipped is False and kind in ("keras", "directory"):
        kind = "directory"
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"{path} already exists and overwrite=False. Pass overwrite=True or choose a new path."
        )
    if kind == "keras":
        from kiln.saving import keras_archive

        return keras_archive.save_model(model, path)
    if kind == "h5":
        from kiln.saving import legacy_h5

        return legacy_h5.save_model(model, path, include_optimizer=include_optimizer)
    if kind == "directory":
        from kiln.saving import model_directory

        return model_directory.save_model(model, path)
    raise ValueError(
        f"Invalid filepath extension for saving: {path!r}. Use `.keras` (recommended), `.h5` "
        "(legacy), or a path without extension for a model directory."
    )


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by `save_model` (or by Keras 3 / tf.keras)."""
    from kiln.saving import keras_archive

    if hasattr(filepath, "read") and hasattr(filepath, "seek"):
        return keras_archive.load_model(filepath, custom_objects, compile, safe_mode)
    path = _path(filepath)
    if not isinstance(path, str):
        raise TypeError(f"load_model expects a path or a file object. Received: {filepath!r}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"File not found: filepath={path}. Check the path.")
    if os.path.isdir(path):
        from kiln.saving import model_directory

        return model_directory.load_model(path, custom_objects, compile, safe_mode)
    kind = _sniff(path, _kind(path))
    if kind == "keras":
        return keras_archive.load_model(path, custom_objects, compile, safe_mode)
    if kind == "h5":
        from kiln.saving import legacy_h5

        return legacy_h5.load_model(path, custom_objects, compile, safe_mode)
    raise FileFormatError(
        f"File format not supported: filepath={path}. kiln loads `.keras` archives, legacy "
        "`.h5`/`.hdf5` files and model directories written by `model.save('dir')`."
    )


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """Saves only the variables of `model`; the format follows the file name."""
    path = _path(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"{path} already exists and overwrite=False. Pass overwrite=True or choose a new path."
        )
    kind = _kind(path, kwargs.pop("save_format", None))
    if kwargs:
        raise ValueError(f"save_weights() got unsupported arguments: {sorted(kwargs)}")
    if kind == "keras":
        raise ValueError(
            f"{path!r}: `.keras` is a whole-model format; use model.save() for it, or a "
            "`.weights.h5` name with save_weights()."
        )
    _require_built(model, "saving")
    from kiln.saving import weights_files

    if kind in ("weights_h5", "weights_sharded"):
        return weights_files.save_weights_h5(model, path, max_shard_size)
    if kind == "safetensors":
        return weights_files.save_safetensors(model, path, max_shard_size)
    if kind == "h5":
        from kiln.saving import legacy_h5

        return legacy_h5.save_weights(model, path)
    if kind == "directory":
        return _checkpoint().save_weights(model, path)
    raise ValueError(f"Unsupported file name for save_weights: {path!r}. {_CHECKPOINT_HINT}")


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads variables saved by `save_weights` (or a `.keras` archive's weights)."""
    path = _path(filepath)
    if kwargs:
        raise ValueError(f"load_weights() got unsupported arguments: {sorted(kwargs)}")
    kind = _sniff(path, _kind(path))
    from kiln.saving import weights_files

    if kind == "directory":
        return _checkpoint().load_weights(model, path, skip_mismatch=skip_mismatch)
    if not os.path.exists(path):
        raise FileNotFoundError(f"File not found: filepath={path}. Check the path.")
    _require_built(model, "loading")
    if kind == "keras":
        from kiln.saving import keras_archive

        return keras_archive.load_weights_only(model, path, skip_mismatch)
    if kind in ("weights_h5", "weights_sharded"):
        return weights_files.load_weights_h5(model, path, skip_mismatch)
    if kind == "safetensors":
        return weights_files.load_safetensors(model, path, skip_mismatch)
    if kind == "h5":
        from kiln.saving import legacy_h5

        return legacy_h5.load_weights(model, path, skip_mismatch)
    raise ValueError(f"Unsupported file name for load_weights: {path!r}. {_CHECKPOINT_HINT}")


def _checkpoint():
    try:
        from kiln.checkpoint import weights as checkpoint_weights
    except ImportError:
        raise ValueError(
            "Paths without an extension (or ending in `.ckpt`) name object-graph checkpoints, "
            f"which this kiln build does not support yet. {_CHECKPOINT_HINT}"
        ) from None
    return checkpoint_weights


def _require_built(model, what):
    if not model.built:
        raise ValueError(
            f"You are {what} weights of model '{model.name}', which has not yet been built. "
            "Call the model on a batch of data (or `model.build(input_shape)`) first."
        )
