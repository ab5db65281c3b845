"""Model directories: `model.save("my_model")` with no extension (the guides' SavedModel).

Layout (the members of a `.keras` archive, unzipped, plus an inference artifact):

    my_model/
      config.json          the model config, with `compile_config` (as in `.keras`)
      model.weights.h5     variables and optimizer state (as in `.keras`)
      assets/...           only when a layer saves assets
      exported/            a `format="torch"` export artifact (endpoint `serve`)
      metadata.json        written last: Keras's keys plus `kiln.checksums` of every member

`load_model("my_model")` restores the full model (compiled, optimizer state included) when
its classes are available. When a class is missing it revives an inference-only model
from `exported/` and warns: calling, `predict()` and `evaluate()` work, `fit()` raises.
The directory is built beside the target and renamed into place (`atomic_directory`).
"""

import hashlib
import json
import os
import shutil
import warnings

from kiln.core.variable import skip_initialization
from kiln.export.tracing import user_stacklevel
from kiln.errors import (DeserializationError, ExportError, FileFormatError,
                         UnsafeDeserializationError)
from kiln.saving import keras_archive, serialization_safety, weights_io
from kiln.saving.atomic import atomic_directory
from kiln.saving.object_registration import CustomObjectScope
from kiln.saving.serialization import deserialize_keras_object, serialize_keras_object
from kiln.saving.serialization_safety import safe_mode_scope

CONFIG = keras_archive.CONFIG
METADATA = keras_archive.METADATA
WEIGHTS = keras_archive.WEIGHTS
ASSETS = "assets"
EXPORTED = "exported"


def save_model(model, path):
    """Writes `model` as a directory at `path` (replacing an existing directory atomically).

    Example:
        >>> model.save("my_model")
        >>> sorted(os.listdir("my_model"))
        ['config.json', 'exported', 'metadata.json', 'model.weights.h5']
    """
    from kiln.export.torch_export import file_checksum
    from kiln.saving.h5_store import H5Writer

    path = os.fspath(path)
    if os.path.isfile(path):
        raise FileExistsError(
            f"{path!r} is a file, but a path without extension saves a model directory. "
            "Remove the file, or save to `<name>.keras` instead.")
    if os.path.isdir(path) and os.listdir(path) and not any(
            os.path.isfile(os.path.join(path, n)) for n in (CONFIG, METADATA)):
        raise FileExistsError(
            f"{path!r} is a non-empty directory that does not hold a saved model; saving "
            "would replace its contents. Choose a new or empty path.")
    config_bytes = json.dumps(serialize_keras_object(model)).encode("utf-8")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_directory(path) as tmp:
        with open(os.path.join(tmp, CONFIG), "wb") as f:
            f.write(config_bytes)
        checksums = {CONFIG: "sha256:" + hashlib.sha256(config_bytes).hexdigest()}
        with H5Writer(os.path.join(tmp, WEIGHTS)) as writer:
            weights_io.save_state(model, writer)
        checksums[WEIGHTS] = file_checksum(os.path.join(tmp, WEIGHTS))
        for name in _save_assets(model, tmp):
            checksums[name] = file_checksum(os.path.join(tmp, *name.split("/")))
        exported = _export_program(model, tmp)
        if exported:
            manifest = os.path.join(tmp, EXPORTED, "manifest.json")
            with open(manifest, "rb") as f:
                checksums[f"{EXPORTED}/manifest.json"] = \
                    "sha256:" + hashlib.sha256(f.read()).hexdigest()
        meta = keras_archive.metadata(checksums)
        meta["kiln"]["exported"] = EXPORTED if exported else None
        with open(os.path.join(tmp, METADATA), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
    return path


def _save_assets(model, tmp):
    names = []
    for obj_path, obj in keras_archive._assets_of(model):
        folder = os.path.join(tmp, ASSETS, *obj_path.split("/")) if obj_path \
            else os.path.join(tmp, ASSETS)
        os.makedirs(folder, exist_ok=True)
        obj.save_assets(folder)
    root = os.path.join(tmp, ASSETS)
    for dirpath, _, files in os.walk(root):
        for file in files:
            names.append(os.path.relpath(os.path.join(dirpath, file), tmp).replace(os.sep, "/"))
    return sorted(names)


def _export_program(model, tmp):
    """Writes `exported/`; returns False (with a warning) when the model cannot be exported."""
    from kiln.export.model_export import build_archive, model_signature

    if not model.built:
        warnings.warn(
            f"Model '{model.name}' is not built, so the directory holds no exported inference "
            "program; loading it will need the model's classes. Call the model on data "
            "before saving to include one.", stacklevel=user_stacklevel())
        return False
    target = os.path.join(tmp, EXPORTED)
    try:
        archive = build_archive(model, model_signature(model))
        os.mkdir(target)
        archive.write_into(target)
    except Exception as err:  # the program is an extra: the full model is still saved
        shutil.rmtree(target, ignore_errors=True)
        reason = str(err) if isinstance(err, ExportError) else f"{type(err).__name__}: {err}"
        warnings.warn(
            f"Saved model '{model.name}' without an exported inference program (loading it "
            f"will need the model's classes), because it could not be exported: {reason}",
            stacklevel=user_stacklevel())
        return False
    return True


# -- loading -------------------------------------------------------------------------------------
def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model directory written by `save_model` (see the module docstring).

    Example:
        >>> model = kiln.models.load_model("my_model")
    """
    from kiln.saving.json_utils import CONFIG_MAX_BYTES, load_untrusted_json

    path = os.fspath(path)
    _check_is_model_directory(path)
    meta = _verify(path)
    with open(os.path.join(path, CONFIG), "rb") as f:
        config = load_untrusted_json(f.read(CONFIG_MAX_BYTES + 1), os.path.join(path, CONFIG))
    if not isinstance(config, dict):
        raise FileFormatError(f"{CONFIG} in {path!r} must hold a JSON object.")
    compile_config = config.get("compile_config") if compile else None
    model_config = {k: v for k, v in config.items() if k != "compile_config"}
    try:
        with safe_mode_scope(safe_mode) as effective_safe_mode:
            serialization_safety.audit(config if compile else model_config, custom_objects,
                                       effective_safe_mode)
        with skip_initialization():
            model = deserialize_keras_object(model_config, custom_objects=custom_objects,
                                             safe_mode=safe_mode)
    except UnsafeDeserializationError:
        raise
    except DeserializationError as err:
        if not _has_export(path, meta):
            raise DeserializationError(
                f"{err}\n(The model directory {path!r} has no exported inference program to "
                "fall back on.)") from err
        return _revive(path, config, err, compile, custom_objects, safe_mode)
    if compile_config and hasattr(model, "compile_from_config"):
        # Compiled outside `skip_initialization`, so metric and optimizer state starts
        # from real initial values (the file then overwrites the optimizer's).
        with CustomObjectScope(dict(custom_objects or {})), safe_mode_scope(safe_mode):
            model.compile_from_config(compile_config)
    weights = os.path.join(path, WEIGHTS)
    if not os.path.isfile(weights):
        raise FileFormatError(f"Model directory {path!r} has no {WEIGHTS}; it is incomplete.")
    from kiln.saving.h5_store import H5Reader

    with H5Reader(weights) as reader:
        weights_io.load_state(model, weights_io.H5Adapter(reader),
                              source=f"model directory {path!r}")
    for obj_path, obj in keras_archive._assets_of(model):
        folder = os.path.join(path, ASSETS, *obj_path.split("/")) if obj_path \
            else os.path.join(path, ASSETS)
        obj.load_assets(folder if os.path.isdir(folder) else None)
    return model


def _check_is_model_directory(path):
    if os.path.isfile(os.path.join(path, CONFIG)):
        return
    if os.path.isfile(os.path.join(path, "manifest.json")):
        raise FileFormatError(
            f"{path!r} is an exported inference artifact (from `model.export()`), not a saved "
            "model. Load it with `kiln.export.load(path)`.")
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileFormatError(
            f"{path!r} is a TensorFlow SavedModel, which kiln cannot read. Re-save the model "
            "from tf.keras/Keras as a `.keras` file (or `.h5`) and load that.")
    raise FileFormatError(
        f"{path!r} is a directory without {CONFIG}; it is not a model directory written by "
        "`model.save('dir')`. Check the path.")


def _verify(path):
    """Checks metadata.json's format version and every member checksum it lists."""
    from kiln.export.torch_export import file_checksum
    from kiln.saving.json_utils import METADATA_MAX_BYTES, load_untrusted_json

    meta_path = os.path.join(path, METADATA)
    if not os.path.isfile(meta_path):
        return {}
    with open(meta_path, "rb") as f:
        meta = load_untrusted_json(f.read(METADATA_MAX_BYTES + 1), meta_path,
                                   max_bytes=METADATA_MAX_BYTES)
    info = meta.get("kiln") if isinstance(meta, dict) else None
    if not isinstance(info, dict):
        return meta if isinstance(meta, dict) else {}
    version = info.get("format_version")
    if not isinstance(version, int) or version > keras_archive.FORMAT_VERSION:
        raise FileFormatError(
            f"{meta_path} has kiln format version {version!r}; this kiln reads up to "
            f"{keras_archive.FORMAT_VERSION}. Upgrade kiln.")
    checksums = info.get("checksums")
    if not isinstance(checksums, dict):
        raise FileFormatError(f"{meta_path}: the kiln entry has no checksums.")
    for name, expected in checksums.items():
        member = _member_path(path, name, meta_path)
        if not os.path.isfile(member):
            raise FileFormatError(f"Model directory {path!r} lacks {name!r}, which "
                                  f"{METADATA} lists. The directory is incomplete.")
        algorithm, _, value = str(expected).partition(":")
        if algorithm == "sha256":
            with open(member, "rb") as f:
                actual = "sha256:" + hashlib.sha256(f.read()).hexdigest()
        elif algorithm == "crc32":
            actual = file_checksum(member)
        else:
            raise FileFormatError(f"{meta_path}: unknown checksum {expected!r} for {name!r}.")
        if actual != expected:
            raise FileFormatError(
                f"Checksum mismatch for {name!r} in model directory {path!r}: it was modified "
                "or damaged after saving. Re-save the model.")
    return meta


def _member_path(root, name, what):
    parts = str(name).split("/")
    if not name or os.path.isabs(name) or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise FileFormatError(f"{what} names member {name!r}, which is not a plain relative "
                              "path inside the directory. Refusing to read it.")
    return os.path.join(root, *parts)


def _has_export(path, meta):
    info = meta.get("kiln") if isinstance(meta, dict) else None
    listed = isinstance(info, dict) and info.get("exported")
    return bool(listed) and os.path.isfile(os.path.join(path, EXPORTED, "manifest.json"))


def _revive(path, config, reason, compile, custom_objects, safe_mode):
    from kiln.export import loader
    from kiln.export.revived_model import RevivedModel

    artifact = loader.load(os.path.join(path, EXPORTED))
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    name = inner.get("name") if isinstance(inner.get("name"), str) else None
    class_name = config.get("class_name") if isinstance(config.get("class_name"), str) else None
    model = RevivedModel(artifact, name=name, original_class=class_name)
    warnings.warn(
        f"Could not restore the full model from {path!r} ({reason}). Revived an "
        f"inference-only model from its exported program instead: calling it, predict() and "
        f"evaluate() work; fit() does not. To get the original {class_name or 'model'} back, "
        "make its class available (register it or pass `custom_objects=`) and load again.",
        stacklevel=user_stacklevel())
    compile_config = config.get("compile_config")
    if compile and isinstance(compile_config, dict) and compile_config:
        _compile_revived(model, compile_config, custom_objects, safe_mode)
    return model


def _compile_revived(model, compile_config, custom_objects, safe_mode):
    """Compiles with the saved loss and metrics (the optimizer is kept if it loads)."""
    keys = ("loss", "loss_weights", "metrics", "weighted_metrics")
    try:
        settings = deserialize_keras_object(
            {k: compile_config.get(k) for k in keys}, custom_objects=custom_objects,
            safe_mode=safe_mode)
    except Exception as err:
        warnings.warn(f"The revived model was not compiled: its loss or metrics could not be "
                      f"restored ({err}). Call `compile()` before `evaluate()`.",
                      stacklevel=user_stacklevel())
        return
    try:
        optimizer = deserialize_keras_object(compile_config.get("optimizer"),
                                             custom_objects=custom_objects,
                                             safe_mode=safe_mode) or "rmsprop"
    except Exception:
        optimizer = "rmsprop"
    model.compile(optimizer=optimizer, **{k: v for k, v in settings.items() if v is not None})
