"""Legacy `.h5` files: whole models (`model.save("x.h5")`) and weights only (keras-format.md §5).

A whole-model file holds, as root attributes, `backend`, `keras_version`, `model_config`
(JSON `{"class_name", "config"}` whose layer entries are written legacy-style: no
`module`, `registered_name` or `build_config`) and, for a compiled model,
`training_config`. Group `model_weights` has one subgroup per layer, named by layer
name, listing `weight_names` (variable paths) with a dataset at each of those paths, in
`trainable_weights + non_trainable_weights` order. Group `optimizer_weights` holds the
optimizer's variables. A weights-only file is the `model_weights` group at the root.

kiln reads files written by Keras 3 and by tf.keras 2.x (fully legacy configs,
`batch_input_shape`, list-form nodes, bytes attributes) and writes files Keras 3 reads.
Unlike Keras 3 it restores the optimizer slots, so training resumes from an `.h5` file.
"""

import json
import os
import warnings

import h5py
import numpy as np
import torch

from kiln.core.variable import skip_initialization
from kiln.errors import FileFormatError, WeightsMismatchError
from kiln.saving import legacy_config
from kiln.saving import legacy_h5_io as io
from kiln.saving import legacy_h5_training as training
from kiln.saving.atomic import atomic_write
from kiln.saving.serialization_safety import check_lambda_allowed, safe_mode_scope

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "legacy_model_config"]

KERAS_VERSION = "3.15.1"  # the Keras release whose legacy layout kiln writes
BACKEND = "torch"
TOP_LEVEL = "top_level_model_weights"


# -- writing -----------------------------------------------------------------------------
def save_model(model, filepath, include_optimizer=True):
    """Writes `model` to a legacy `.h5` file (atomically), readable by Keras 3 and kiln.

    Args:
        model: A built functional or Sequential model (anything with a `get_config()`).
        filepath: The `.h5` / `.hdf5` path; missing parent directories are created.
        include_optimizer: Also store the compile arguments and the optimizer state.

    Example:
        >>> model.save("mlp.h5")
        >>> restored = kiln.saving.load_model("mlp.h5")
    """
    path = os.fspath(filepath)
    _require_built(model, "save")
    model_config = legacy_model_config(model)
    training_config = training.training_config(model) if include_optimizer else None
    optimizer = getattr(model, "optimizer", None) if include_optimizer else None
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as f, h5py.File(f, "w") as h5:
        h5.attrs["backend"] = BACKEND
        h5.attrs["keras_version"] = KERAS_VERSION
        h5.attrs["model_config"] = _json(model_config)
        if training_config is not None:
            h5.attrs["training_config"] = _json(training_config)
        _write_layers(h5.create_group("model_weights"), model)
        if optimizer is not None:
            training.write_optimizer_weights(h5, optimizer)
    return path


def save_weights(model, filepath):
    """Writes only the variables, in the legacy weights-only `.h5` layout (tf.keras's).

    Example:
        >>> model.save_weights("mlp.h5")
        >>> model.load_weights("mlp.h5")
    """
    path = os.fspath(filepath)
    _require_built(model, "save weights of")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as f, h5py.File(f, "w") as h5:
        _write_layers(h5, model)
    return path


def legacy_model_config(model):
    """`{"class_name", "config"}` of `model` with legacy-style layer entries (Keras 3's h5 form)."""
    from kiln.saving.serialization import serialize_keras_object

    envelope = serialize_keras_object(model)
    return {"class_name": envelope.get("registered_name") or envelope["class_name"],
            "config": _legacy_layers(envelope["config"])}


def _legacy_layers(config):
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        config = {**config, "layers": [_legacy_entry(e) for e in config["layers"]]}
    return config


def _legacy_entry(entry):
    if not isinstance(entry, dict) or "class_name" not in entry:
        return entry
    out = {"class_name": entry.get("registered_name") or entry["class_name"],
           "config": _legacy_layers(entry.get("config"))}
    for key in ("name", "inbound_nodes"):
        if key in entry:
            out[key] = entry[key]
    return out


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    raise TypeError(f"Cannot write {value!r} (type {type(value).__name__}) into an h5 model "
                    "config. Make get_config() return plain Python values.")


def _json(value):
    return json.dumps(value, default=_json_default)


def legacy_weights(layer):
    """A layer's variables in legacy order: trainable first, then non-trainable."""
    out, seen = [], set()
    for v in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _top_level_weights(model):
    own = {id(v) for v in model._own_variables()}
    return [v for v in legacy_weights(model) if id(v) in own]


def _write_layers(group, model):
    layers = list(model.layers)
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1} | ({TOP_LEVEL} & set(names)))
    if duplicates:
        raise ValueError(
            f"Cannot save model '{model.name}' to h5: layer names must be unique and differ "
            f"from {TOP_LEVEL!r}, because the file stores each layer under its name. "
            f"Received duplicates: {duplicates}. Rename the layers or save to `.keras`."
        )
    io.write_list_attr(group, "layer_names", names)
    group.attrs["backend"] = BACKEND.encode("utf-8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
    for layer in sorted(layers, key=lambda l: l.name):  # sorted like Keras: no prefix clashes
        _write_weight_group(group.create_group(layer.name), legacy_weights(layer))
    _write_weight_group(group.create_group(TOP_LEVEL), _top_level_weights(model))


def _write_weight_group(group, variables):
    names = training.unique_names([v.path for v in variables])
    io.write_list_attr(group, "weight_names", names)
    for name, variable in zip(names, variables):
        io.write_tensor(group, name, variable.value)


# -- reading -----------------------------------------------------------------------------
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model from a legacy `.h5` file written by Keras 3, tf.keras 2.x or kiln.

    Args:
        filepath: The `.h5` / `.hdf5` path.
        custom_objects: `{"Name": class_or_function}` for custom layers, losses, ...
        compile: Compile from the stored `training_config` and restore the optimizer state.
        safe_mode: Refuse configs holding Python bytecode (Lambda layers with lambdas).

    Example:
        >>> model = kiln.saving.load_model("old_tf_keras_model.h5", compile=False)
    """
    from kiln.saving.serialization import deserialize_keras_object

    path = os.fspath(filepath)
    where = f"file {os.path.basename(path)!r}"
    with io.open_validated(path) as h5:
        text = io.read_text_attr(h5, "model_config", where)
        if text is None:
            if io.has_list_attr(h5, "layer_names"):
                raise FileFormatError(
                    f"{where} holds only weights (no model config). Build the model in code, "
                    "then call `model.load_weights(path)`.")
            raise FileFormatError(f"No model config found in {where}; it is not a Keras h5 "
                                  "model file.")
        version = io.read_text_attr(h5, "keras_version", where) or "1"
        config = _prepare_model_config(io.decode_config(text, f"model_config of {where}"), where)
        with safe_mode_scope(safe_mode) as effective_safe_mode:
            _check_lambdas(config)
            with skip_initialization():
                model = deserialize_keras_object(config, custom_objects=custom_objects,
                                                 safe_mode=effective_safe_mode)
        if not getattr(model, "built", False):
            raise FileFormatError(f"The model in {where} could not be built from its config "
                                  "(no input shape is recorded), so its weights cannot load.")
        if "model_weights" not in h5 or not isinstance(h5["model_weights"], h5py.Group):
            raise FileFormatError(f"{where} has a model config but no `model_weights` group.")
        load_weights_group(model, h5["model_weights"], where)
        if compile:
            _compile(model, h5, custom_objects, version, where)
    return model


def load_weights(model, filepath, skip_mismatch=False):
    """Loads a legacy weights-only `.h5` (or the weights of a whole-model `.h5`) into `model`.

    Layers are matched by name; when the names differ but the number of layers with
    weights agrees, by order (tf.keras's default `by_name=False`).

    Example:
        >>> model.load_weights("tf_keras_weights.h5")
    """
    path = os.fspath(filepath)
    where = f"file {os.path.basename(path)!r}"
    with io.open_validated(path) as h5:
        group = h5
        if not io.has_list_attr(h5, "layer_names"):
            if "model_weights" not in h5 or not isinstance(h5["model_weights"], h5py.Group):
                raise FileFormatError(f"{where} has no `layer_names` attribute; it is not a "
                                      "legacy Keras weights file.")
            group = h5["model_weights"]
        return load_weights_group(model, group, where, skip_mismatch)


def _prepare_model_config(config, where):
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise FileFormatError(f"model_config of {where} must be a JSON object with "
                              "`class_name` and `config`.")
    return {"class_name": config["class_name"], "config": _convert_layers(config["config"])}


def _convert_layers(config):
    """Applies the Keras 2 → Keras 3 conversions to every layer entry of (nested) models."""
    if isinstance(config, list):  # Keras 2.2 Sequential: a bare list of layers
        return [_convert_entry(e) for e in config]
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return {**config, "layers": [_convert_entry(e) for e in config["layers"]]}
    return config


def _convert_entry(entry):
    if not isinstance(entry, dict) or "module" in entry:
        return entry
    entry = legacy_config.convert_layer_entry(entry)
    entry["config"] = _convert_layers(entry.get("config"))
    return entry


def _check_lambdas(config):
    """Refuses stored bytecode anywhere in the config before anything is constructed."""
    stack = [(config, "model_config")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        if node.get("class_name") == "__lambda__":
            check_lambda_allowed(path)
        elif node.get("class_name") == "Lambda" and isinstance(node.get("config"), dict):
            for field in ("function", "output_shape", "mask"):
                value = node["config"].get(field)
                if isinstance(value, list) and value and isinstance(value[0], str):
                    check_lambda_allowed(path, "a `Lambda` layer whose "
                                               f"`{field}` is a Python lambda")
        stack.extend((v, f"{path}.{k}") for k, v in node.items() if isinstance(v, (dict, list)))


def _compile(model, h5, custom_objects, version, where):
    text = io.read_text_attr(h5, "training_config", where)
    if text is None:
        warnings.warn(f"No training configuration found in {where}, so the model was not "
                      "compiled. Compile it manually.", stacklevel=3)
        return
    config = io.decode_config(text, f"training_config of {where}")
    if not isinstance(config, dict):
        raise FileFormatError(f"training_config of {where} must be a JSON object.")
    training.compile_from_training_config(model, config, custom_objects)
    optimizer = getattr(model, "optimizer", None)
    group = h5.get("optimizer_weights")
    built = getattr(optimizer, "built", False)
    if optimizer is not None and built and isinstance(group, h5py.Group):
        training.restore_optimizer_weights(optimizer, group, version, where)


def load_weights_group(model, group, where, skip_mismatch=False):
    """Loads a `model_weights`-style group into `model`; returns the list of problems.

    Every problem (missing or extra layers, weight-count and shape mismatches) is
    collected first; then either nothing is loaded and one `WeightsMismatchError` lists
    them, or with `skip_mismatch=True` whatever fits is loaded and a warning lists them.
    """
    _require_built(model, "load weights into")
    file_layers = _file_layers(group, where)
    model_layers = [(layer.name, legacy_weights(layer)) for layer in model.layers]
    pairs, problems = _pair_layers(model_layers, file_layers)
    top = _top_level_weights(model)
    if top or TOP_LEVEL in group:
        stored = _weight_datasets(group, TOP_LEVEL, where) if TOP_LEVEL in group else []
        if top or stored:
            pairs.append(((f"{model.name} (top level)", top), (TOP_LEVEL, stored)))
    plan = []
    for (layer_name, variables), (file_name, stored) in pairs:
        label = f"layer '{layer_name}'" + (f" (file: '{file_name}')" if file_name != layer_name
                                           else "")
        if len(variables) != len(stored):
            problems.append(f"  {label}: expected {len(variables)} weights "
                            f"{[v.path for v in variables]}, found {len(stored)} in the file "
                            f"{[n for n, _ in stored]}")
            continue
        for variable, (weight_name, dset) in zip(variables, stored):
            shape, dtype = io.dataset_spec(dset)
            if shape != tuple(variable.shape) or not io.castable(dtype, variable.dtype):
                problems.append(f"  {label}: {variable.path} expected {tuple(variable.shape)} "
                                f"{variable.dtype}, found {shape} {dtype} ('{weight_name}')")
            else:
                plan.append((variable, dset))
    if problems and not skip_mismatch:
        raise WeightsMismatchError(
            f"Could not load weights into model '{model.name}' from {where} "
            f"({len(problems)} problems):\n" + "\n".join(problems)
            + "\nNothing was loaded. Build the model as it was saved, or pass "
              "skip_mismatch=True to load_weights() to load the weights that fit.", problems)
    with torch.no_grad():
        for variable, dset in plan:
            variable.value.data.copy_(io.read_array(dset).reshape(variable.shape))
    if problems:
        warnings.warn(f"Loaded weights into model '{model.name}' from {where} with "
                      f"{len(problems)} problems (skip_mismatch=True):\n" + "\n".join(problems),
                      stacklevel=3)
    return problems


def _weight_datasets(group, name, where):
    sub = group.get(name)
    if not isinstance(sub, h5py.Group):
        raise FileFormatError(f"{where}: `layer_names` lists {name!r}, but the file has no "
                              "group of that name. The file is damaged.")
    here = f"{where}, layer {name!r}"
    return [(w, io.dataset_at(sub, w, here)) for w in io.read_list_attr(sub, "weight_names", here)]


def _file_layers(group, where):
    names = io.read_list_attr(group, "layer_names", where)
    return [(name, _weight_datasets(group, name, where)) for name in names]


def _pair_layers(model_layers, file_layers):
    """Pairs model layers with file layers: by name, else by order (tf.keras topological)."""
    in_file = dict(file_layers)
    model_names = {name for name, _ in model_layers}
    model_with = [(n, vs) for n, vs in model_layers if vs]
    file_with = [(n, ws) for n, ws in file_layers if ws]
    if all(n in in_file for n, _ in model_with):
        pairs = [((n, vs), (n, in_file[n])) for n, vs in model_with]
        extra = [(n, ws) for n, ws in file_with if n not in dict(model_with)]
        problems = [f"  layer '{n}': present in the file ({len(ws)} weights), "
                    + ("not used by the model" if n not in model_names
                       else "but the model's layer has no weights") for n, ws in extra]
        return pairs, problems
    if len(model_with) == len(file_with):
        return list(zip(model_with, file_with)), []
    problems = [f"  layer '{n}': present in the model ({len(vs)} weights), missing from the file"
                for n, vs in model_with if n not in in_file]
    problems += [f"  layer '{n}': present in the file ({len(ws)} weights), not used by the model"
                 for n, ws in file_with if n not in model_names]
    problems.append(f"  (layers with weights: {len(model_with)} in the model, {len(file_with)} "
                    "in the file, so they cannot be paired by order either)")
    return [], problems


def _require_built(model, what):
    if not getattr(model, "built", False):
        raise ValueError(
            f"Cannot {what} model '{model.name}': it has not been built yet. Call it on a "
            "batch of data or call `model.build(input_shape)` first."
        )
