"""The training half of legacy `.h5` files: `training_config` and `optimizer_weights`.

Writing follows Keras 3 (keras-format.md §5.1): the compile config without `optimizer`,
plus `optimizer_config` `{class_name, config}`; and every optimizer variable under its
path (`adam/iteration`, `adam/d1_kernel_momentum`, ...).

Reading is lenient where Keras 3 is not (§5.2 "Known failures"): TensorFlow-only
optimizer keys (`jit_compile`, `is_legacy_optimizer`, `decay`) are dropped with a
warning, and the optimizer is built on the model's trainable variables before its state
is restored, so training resumes where it stopped. Keras 3 drops the slots at this point.
"""

import inspect
import warnings

import torch

from kiln.saving import legacy_h5_io as io
from kiln.saving import object_registration

_TF_ONLY_OPTIMIZER_KEYS = ("jit_compile", "is_legacy_optimizer", "decay")
_COMPILE_KEYS = ("loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                 "steps_per_execution", "jit_compile")
# Slot names in Keras 2 files → kiln's slot names (kiln/Keras 3 names map to themselves).
_SLOT_ALIASES = {"m": "momentum", "v": "velocity", "vhat": "velocity_hat", "rms": "velocity",
                 "mg": "average_gradient"}
_KNOWN_SLOTS = ("velocity_hat", "momentum", "velocity", "average_gradient", "accumulator",
                "average", "gradient_accumulator", "delta_accumulator", "norm", "mean")
_ITERATION_NAMES = ("iter", "iteration", "iterations")
_LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                 "mape": "mean_absolute_percentage_error",
                 "msle": "mean_squared_logarithmic_error"}
_LEARNING_RATE_NAMES = ("learning_rate", "lr")


# -- writing -------------------------------------------------------------------------
def training_config(model):
    """The `training_config` attribute for a compiled model, or None if it is not compiled."""
    from kiln.saving.serialization import serialize_keras_object

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        compile_config = model.get_compile_config()
    except ImportError:  # kiln.trainers is not available
        return None
    if not compile_config:
        return None
    config = serialize_keras_object({k: v for k, v in compile_config.items() if k != "optimizer"})
    if "loss" in config:
        config["loss"] = _full_loss_names(config["loss"])
    class_name = object_registration.get_registered_name(type(optimizer))
    config["optimizer_config"] = {"class_name": class_name,
                                  "config": serialize_keras_object(optimizer.get_config())}
    return config


def _full_loss_names(loss):
    """`"mse"` → `"mean_squared_error"` (in nested structures too).

    Keras 3 cannot recompile an h5 file whose loss is one of these short aliases (§5.2),
    so kiln writes the full names, which every Keras version and kiln read.
    """
    if isinstance(loss, str):
        return _LOSS_ALIASES.get(loss, loss)
    if isinstance(loss, list):
        return [_full_loss_names(v) for v in loss]
    if isinstance(loss, dict) and not ("class_name" in loss and "config" in loss):
        return {k: _full_loss_names(v) for k, v in loss.items()}
    return loss


def write_optimizer_weights(h5, optimizer):
    """Writes `optimizer_weights` (all variables, names = variable paths)."""
    variables = list(getattr(optimizer, "variables", []) or [])
    if not variables:
        return
    group = h5.create_group("optimizer_weights")
    names = unique_names([getattr(v, "path", None) or v.name for v in variables])
    io.write_list_attr(group, "weight_names", names)
    for name, variable in zip(names, variables):
        io.write_tensor(group, name, variable.value)


def unique_names(names):
    """Makes names unique by suffixing `_1`, `_2`... (HDF5 paths cannot repeat)."""
    seen, out = set(), []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out


# -- compiling from a file -------------------------------------------------------------
def compile_from_training_config(model, config, custom_objects):
    """Compiles `model` from a decoded `training_config` (Keras 2 or Keras 3 style)."""
    optimizer = _optimizer(config.get("optimizer_config"), custom_objects)
    kwargs = {k: config[k] for k in _COMPILE_KEYS if k in config}
    for key in ("loss", "metrics", "weighted_metrics"):
        if key in kwargs:
            kwargs[key] = _deserialize_nested(kwargs[key], custom_objects, key != "loss")
    for key in ("metrics", "weighted_metrics"):
        kwargs[key] = _unwrap_single_output(model, kwargs.get(key))
    model.compile(optimizer=optimizer, **kwargs)
    if model.built and not getattr(model.optimizer, "built", True):
        model.optimizer.build(model.trainable_variables)


def _optimizer(optimizer_config, custom_objects):
    from kiln.saving.serialization import deserialize_keras_object, resolve

    if optimizer_config is None:
        return "rmsprop"  # what Keras uses when the file names no optimizer
    if isinstance(optimizer_config, str):
        return optimizer_config
    if not isinstance(optimizer_config, dict) or not isinstance(
            optimizer_config.get("config", {}), (dict, type(None))):
        from kiln.errors import FileFormatError

        raise FileFormatError(
            "training_config.optimizer_config must be {\"class_name\": ..., \"config\": {...}}. "
            f"Received: {str(optimizer_config)[:200]}. Load with compile=False and compile "
            "the model yourself."
        )
    # The module only hints which table to search ("Adam" is an optimizer); never imported.
    envelope = {"module": "keras.optimizers", "class_name": optimizer_config.get("class_name"),
                "config": optimizer_config.get("config"),
                "registered_name": optimizer_config.get("registered_name")}
    cls = resolve(envelope, custom_objects, "training_config.optimizer_config")
    config = dict(envelope.get("config") or {})
    if "lr" in config and "learning_rate" not in config:
        config["learning_rate"] = config.pop("lr")
    dropped = {k: config.pop(k) for k in _TF_ONLY_OPTIMIZER_KEYS if k in config}
    accepted = _accepted_arguments(cls) if cls.__module__.startswith("kiln.") else None
    if accepted is not None:
        dropped.update({k: config.pop(k) for k in list(config) if k not in accepted})
    if dropped:
        warnings.warn(
            f"Ignoring optimizer settings from the file that kiln's {cls.__name__} does not "
            f"support: {dropped} (TensorFlow-only options such as jit_compile or "
            "is_legacy_optimizer have no meaning here). The rest of the config is used.",
            stacklevel=4)
    envelope["config"] = config
    return deserialize_keras_object(envelope, custom_objects=custom_objects)


def _accepted_arguments(cls):
    """Constructor argument names along the MRO, or None if any accepts **kwargs freely."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        names.update(p.name for p in params
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")
    return names or None


def _deserialize_nested(value, custom_objects, is_metric):
    from kiln.saving.serialization import deserialize_keras_object

    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return (custom_objects or {}).get(value, value)
    if isinstance(value, list):
        return [_deserialize_nested(v, custom_objects, is_metric) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value or "config" not in value:
        return {k: _deserialize_nested(v, custom_objects, is_metric) for k, v in value.items()}
    config = value.get("config")
    if is_metric and value.get("class_name") == "MeanMetricWrapper" and isinstance(config, dict):
        # tf.keras wrote `metrics=["mae"]` as a MeanMetricWrapper around a function name.
        return config.get("name") or config.get("fn")
    if isinstance(config, dict) and config.get("reduction") == "auto":
        value = {**value, "config": {**config, "reduction": "sum_over_batch_size"}}
    return deserialize_keras_object(value, custom_objects=custom_objects)


def _unwrap_single_output(model, metrics):
    """tf.keras wrote single-output metrics as `[[m1, m2]]`; kiln expects `[m1, m2]`."""
    outputs = getattr(model, "outputs", None) or []
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list) \
            and len(outputs) <= 1:
        return metrics[0]
    return metrics


# -- optimizer state -------------------------------------------------------------------
def restore_optimizer_weights(optimizer, group, keras_version, where):
    """Restores `optimizer_weights` into a built optimizer; warns about anything left over.

    Files written by Keras 3 or kiln list the variables in the optimizer's own order, so
    they are restored by position when count and shapes agree. Otherwise (Keras 2 files,
    other models) variables are matched by role and name: the iteration counter, the
    learning rate, then slots by `(variable, slot kind)`; leftovers of one slot kind are
    paired by order when their counts and shapes agree.
    """
    names = io.read_list_attr(group, "weight_names", where)
    entries = [(name, io.dataset_at(group, name, where)) for name in names]
    targets = list(optimizer.variables)
    specs = [io.dataset_spec(d) for _, d in entries]
    if _major(keras_version) >= 3 and len(entries) == len(targets) and all(
            _fits(v, spec) for v, spec in zip(targets, specs)):
        plan = list(zip(targets, [d for _, d in entries]))
        unused, missing = [], []
    else:
        plan, unused, missing = _match(optimizer, entries, targets)
    with torch.no_grad():
        for variable, dset in plan:
            variable.value.data.copy_(io.read_array(dset).reshape(variable.shape))
    # The learning rate also comes from the optimizer config, so its absence loses nothing.
    missing = [v for v in missing if v is not getattr(optimizer, "_learning_rate", None)]
    slot_entries = [n for n, _ in entries if _role(n)[0] == "slot"]
    if (unused or missing) and (slot_entries or unused):
        lines = [f"  {v.path:<40} not found in the file (kept its initial value)"
                 for v in missing]
        lines += [f"  {n:<40} in the file, no matching optimizer variable" for n in unused]
        warnings.warn(
            f"Restored {len(plan)} of {len(targets)} variables of optimizer "
            f"'{optimizer.name}' from {where}; {len(lines)} could not be matched:\n"
            + "\n".join(lines) + "\nTraining continues with those variables re-initialized.",
            stacklevel=3)
    return plan


def _major(version):
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 0


def _fits(variable, spec):
    shape, dtype = spec
    return tuple(shape) == tuple(variable.shape) and io.castable(dtype, variable.dtype)


def _slot_of(leaf):
    for kind in sorted(_KNOWN_SLOTS, key=len, reverse=True):
        if leaf.endswith("_" + kind) and len(leaf) > len(kind) + 1:
            return leaf[: -len(kind) - 1], kind
    return None


def _role(name):
    """Classifies an optimizer weight name: ("iteration",), ("learning_rate",),
    ("slot", variable_key, kind) or ("other",)."""
    parts = name.split(":")[0].split("/")
    leaf = parts[-1]
    if leaf in _ITERATION_NAMES:
        return ("iteration",)
    if leaf in _LEARNING_RATE_NAMES:
        return ("learning_rate",)
    if len(parts) <= 2:  # Keras 3 / kiln: "<optimizer>/<variable_path_with_underscores>_<slot>"
        found = _slot_of(leaf)
        if found:
            return ("slot", found[0], found[1])
    for start in (0, 1):  # tf.keras 2.11+: "[<optimizer>/]<m|v|...>/<variable path>"
        if len(parts) > start + 1 and parts[start] in _SLOT_ALIASES:
            return ("slot", "_".join(parts[start + 1:]), _SLOT_ALIASES[parts[start]])
    if len(parts) >= 3:  # tf.keras <= 2.10: "<optimizer>/<variable path>/<m|v|...>"
        kind = _SLOT_ALIASES.get(leaf, leaf)
        return ("slot", "_".join(parts[1:-1]), kind)
    return ("other",)


def _target_role(optimizer, variable):
    if variable is getattr(optimizer, "_iterations", None):
        return ("iteration",)
    if variable is getattr(optimizer, "_learning_rate", None):
        return ("learning_rate",)
    found = _slot_of(variable.name)
    return ("slot", found[0], found[1]) if found else ("other", variable.name)


def _match(optimizer, entries, targets):
    free = list(range(len(targets)))
    roles = {i: _target_role(optimizer, targets[i]) for i in free}
    plan, unused = [], []
    leftovers = {}  # slot kind → [(name, dataset)] not matched by name
    for name, dset in entries:
        role = _role(name)
        spec = io.dataset_spec(dset)
        match = next((i for i in free if roles[i] == role and _fits(targets[i], spec)), None)
        if match is not None:
            free.remove(match)
            plan.append((targets[match], dset))
        elif role[0] == "slot":
            leftovers.setdefault(role[2], []).append((name, dset))
        else:
            unused.append(name)
    for kind, items in leftovers.items():
        candidates = [i for i in free if roles[i][0] == "slot" and roles[i][2] == kind]
        if len(candidates) == len(items) and all(
                _fits(targets[i], io.dataset_spec(d)) for i, (_, d) in zip(candidates, items)):
            for i, (_, dset) in zip(candidates, items):
                free.remove(i)
                plan.append((targets[i], dset))
        else:
            unused.extend(name for name, _ in items)
    return plan, unused, [targets[i] for i in free]
