"""Objects ⇄ Keras 3 config envelopes (`serialize_keras_object` / `deserialize_keras_object`).

Deserialization audits the whole config before constructing anything
(`serialization_safety.audit`), resolves names only among registered and built-in
objects, and reports errors with the config path of the failing object.
"""

import base64
import contextlib
import json
import marshal
import threading
import types

import numpy as np
import torch

from kiln.core.keras_tensor import KerasTensor
from kiln.errors import DeserializationError
from kiln.saving import builtin_objects, object_registration, serialization_safety
from kiln.saving.serialization_safety import safe_mode_scope

_state = threading.local()


# -- serialization ---------------------------------------------------------------
def serialize_keras_object(obj):
    """Returns the Keras-format config of `obj` (JSON-compatible, plain Python values).

    Example:
        >>> kiln.saving.serialize_keras_object(kiln.regularizers.L1(0.005))
        {'module': 'keras.regularizers', 'class_name': 'L1', 'config': {'l1': 0.005},
         'registered_name': None}
    """
    done = getattr(_state, "envelopes", None)
    if done is not None:
        return _serialize(obj, done)
    # The outermost call: remember the envelopes built below it, so that when a
    # get_config() returns envelopes it built itself (e.g. `initializers.serialize(...)`),
    # they are taken as they are instead of being copied again.
    _state.envelopes = {}
    try:
        return _serialize(obj, _state.envelopes)
    finally:
        _state.envelopes = None


def _serialize(obj, done):
    kind = type(obj)
    # Configs are mostly plain scalars, dicts and lists: answer those by exact type before
    # the isinstance chain (subclasses such as IntEnum or OrderedDict take the chain).
    if kind in _PLAIN_SCALARS:
        return obj
    if kind is dict:
        return obj if done.get(id(obj)) is obj else _serialize_dict(obj, done)
    if kind is list or kind is tuple:
        return _serialize_list(obj, done)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        if obj.ndim == 0:
            return obj.item()
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, torch.Tensor):
        from kiln.core import dtypes

        t = obj.detach().cpu()
        if t.dim() == 0:
            return t.item()
        return {"class_name": "__tensor__",
                "config": {"value": t.tolist(), "dtype": dtypes.standardize(t.dtype)}}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("latin-1")}}
    if isinstance(obj, (list, tuple)):
        return _serialize_list(obj, done)
    if isinstance(obj, dict):
        return _serialize_dict(obj, done)
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": _serialize(obj.start, done), "stop": _serialize(obj.stop, done),
            "step": _serialize(obj.step, done)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, KerasTensor):
        history = obj._keras_history
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(obj.shape), "dtype": obj.dtype,
            "keras_history": [history[0].name, history[1], history[2]] if history else None}}
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        return {"class_name": "__lambda__", "config": {"value": _encode_lambda(obj)}}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) or (
        callable(obj) and hasattr(obj, "__name__") and not isinstance(obj, type)
        and not hasattr(obj, "get_config")
    ):
        return {"module": "builtins", "class_name": "function",
                "config": object_registration.get_registered_name(obj),
                "registered_name": "function"}
    if isinstance(obj, type):
        raise TypeError(
            f"Cannot serialize the class object {obj!r}; serialize an instance instead."
        )
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize {obj!r} of type {type(obj).__name__}: it has no get_config(). "
            "Implement get_config() (and from_config() if needed) on the class."
        )
    return _serialize_instance(obj, done)


_PLAIN_SCALARS = frozenset({type(None), bool, int, float, str})


# Plain scalar items are copied as they are, without a call per item (most of a config).
def _serialize_dict(obj, done):
    return {k: v if type(v) in _PLAIN_SCALARS else _serialize(v, done)
            for k, v in obj.items()}


def _serialize_list(obj, done):
    return [x if type(x) in _PLAIN_SCALARS else _serialize(x, done) for x in obj]


def _serialize_instance(obj, done):
    cls = type(obj)
    names = builtin_objects.keras_envelope_names(cls)
    try:
        inner = obj.get_config()
    except NotImplementedError as e:
        raise NotImplementedError(
            f"{cls.__name__}.get_config() is not implemented: {e}"
        ) from e
    if names is not None:
        module, class_name, registered_name = names
    else:
        module = None if cls.__module__ == "__main__" else cls.__module__
        class_name = cls.__name__
        registered_name = object_registration.get_registered_name(cls)
    envelope = {"module": module, "class_name": class_name,
                "config": _serialize(inner, done), "registered_name": registered_name}
    done[id(envelope)] = envelope  # the value keeps the id from being reused meanwhile
    get_build_config = getattr(obj, "get_build_config", None)
    if get_build_config is not None:
        build_config = get_build_config()
        if build_config is not None:
            envelope["build_config"] = _serialize(build_config, done)
    get_compile_config = getattr(obj, "get_compile_config", None)
    if get_compile_config is not None:
        try:
            envelope["compile_config"] = _serialize(get_compile_config(), done)
        except ImportError:
            envelope["compile_config"] = {}
    return envelope


def _encode_lambda(fn):
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    closure = [c.cell_contents for c in fn.__closure__] if fn.__closure__ else None
    return [code, fn.__defaults__, closure]


# -- deserialization -------------------------------------------------------------
def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """Builds the object a config envelope describes.

    Names resolve through `custom_objects`, the active `custom_object_scope`, the
    registry, and kiln's built-ins; nothing named in the config is ever imported. The
    whole config is checked before any object is constructed.

    Example:
        >>> kiln.saving.deserialize_keras_object(
        ...     {"class_name": "Adam", "config": {"learning_rate": 0.001}})
    """
    with safe_mode_scope(safe_mode) as effective_safe_mode:
        if not getattr(_state, "audited", False):
            serialization_safety.audit(config, custom_objects, effective_safe_mode)
            _state.audited = True
            _state.shared = {}
            try:
                return _deserialize(config, custom_objects, "config")
            finally:
                _state.audited = False
                _state.shared = {}
        return _deserialize(config, custom_objects, "config")


@contextlib.contextmanager
def audited_scope():
    """Marks nested deserialization as already audited (used by whole-model loading)."""
    previous = getattr(_state, "audited", False)
    _state.audited = True
    try:
        yield
    finally:
        _state.audited = previous


def _deserialize(config, custom_objects, path):
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        return found if found is not None else config
    if isinstance(config, (list, tuple)):
        return [_deserialize(c, custom_objects, f"{path}[{i}]") for i, c in enumerate(config)]
    if not isinstance(config, dict):
        raise DeserializationError(f"At {path}: cannot deserialize a value of type "
                                   f"{type(config).__name__}.")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v, custom_objects, f"{path}.{k}") for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"]
    special = serialization_safety.decode_special(class_name, inner, path)
    if special is not serialization_safety.NOT_SPECIAL:
        return special
    shared_id = config.get("shared_object_id")
    shared = getattr(_state, "shared", {})
    if shared_id is not None and shared_id in shared:
        return shared[shared_id]
    target = resolve(config, custom_objects, path)
    if class_name == "function":
        return target
    if not hasattr(target, "from_config"):
        raise DeserializationError(
            f"At {path}: class '{class_name}' has no from_config(); it cannot be deserialized. "
            "Add a from_config classmethod (the default of kiln classes is cls(**config))."
        )
    scope = dict(custom_objects or {})
    with object_registration.CustomObjectScope(scope):
        try:
            obj = target.from_config(inner)
        except DeserializationError:
            raise
        except TypeError as e:
            raise DeserializationError(
                f"At {path}: {target.__name__} could not be deserialized properly: {e}. "
                "If the class takes layers or other objects in its constructor, override "
                "`from_config` to deserialize them (see kiln.saving.deserialize_keras_object)."
            ) from e
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config") and not getattr(obj, "built", True):
            obj.build_from_config(build_config)
        compile_config = config.get("compile_config")
        if compile_config and hasattr(obj, "compile_from_config"):
            obj.compile_from_config(compile_config)
    if shared_id is not None:
        shared[shared_id] = obj
    return obj


def _lookup(name, custom_objects):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    scope = object_registration.active_scope_objects()
    if name in scope:
        return scope[name]
    return object_registration.GLOBAL_CUSTOM_OBJECTS.get(name)


def resolve(config, custom_objects, path):
    """The class or function an envelope names, or a DeserializationError explaining why not."""
    class_name = config.get("class_name")
    module = config.get("module")
    if not isinstance(class_name, str):
        raise DeserializationError(
            f"At {path}: `class_name` must be a string; received {type(class_name).__name__}."
        )
    if class_name == "function":
        name = config.get("config")
        if not isinstance(name, str):
            raise DeserializationError(f"At {path}: a function's config must be its name string.")
        found = _lookup(name, custom_objects)
        if found is None and ">" in name:
            found = _lookup(name.split(">", 1)[1], custom_objects)
        if found is None and module in (None, "builtins") or found is None and (
            isinstance(module, str) and module.split(".")[0] in ("keras", "kiln")
        ):
            found = builtin_objects.find_function(name, module)
        if found is None and ">" not in name:
            pool = {**object_registration.GLOBAL_CUSTOM_OBJECTS,
                    **object_registration.active_scope_objects(), **(custom_objects or {})}
            matches = [v for k, v in pool.items() if k.endswith(">" + name)]
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise DeserializationError(_not_found(path, "function", name, module))
        return found
    registered = config.get("registered_name") or class_name
    if not isinstance(registered, str):
        raise DeserializationError(f"At {path}: `registered_name` must be a string or null.")
    found = _lookup(registered, custom_objects)
    if found is None and registered != class_name:
        found = _lookup(class_name, custom_objects)
    if found is None and (module is None or isinstance(module, str)):
        legacy = "module" not in config
        if legacy or isinstance(module, str) and module.split(".")[0] in ("keras", "kiln"):
            found = builtin_objects.find_class(class_name, module)
            if found is None and ">" in registered:
                found = builtin_objects.find_class(registered.split(">", 1)[1], module)
    if found is None:
        raise DeserializationError(_not_found(path, "class", class_name, module, registered))
    if not isinstance(found, type):
        raise DeserializationError(
            f"At {path}: '{registered}' resolved to {found!r}, which is not a class."
        )
    return found


def _not_found(path, kind, name, module, registered=None):
    shown = registered if registered and registered != name else name
    package = shown.split(">")[0] if ">" in shown else "Custom"
    short = shown.split(">")[-1]
    where = f" (module {module!r})" if module else ""
    return (
        f"At {path}: could not locate {kind} '{shown}'{where}. kiln only builds registered or "
        f"built-in objects and never imports modules named in a file. If this is your "
        f"{kind}, decorate it with `@kiln.saving.register_keras_serializable(package="
        f"\"{package}\")` and import it before loading, or pass "
        f"`custom_objects={{\"{short}\": {short}}}`."
    )


# -- JSON -------------------------------------------------------------------------
def model_to_json(model, **kwargs):
    """The model's config envelope as a JSON string (`model.to_json()`)."""
    return json.dumps(serialize_keras_object(model), **kwargs)


def model_from_json(json_string, custom_objects=None):
    """Rebuilds a model (fresh weights) from `model.to_json()` output.

    Example:
        >>> clone = kiln.models.model_from_json(model.to_json())
    """
    from kiln.saving import json_utils

    data = json_string.encode("utf-8") if isinstance(json_string, str) else json_string
    config = json_utils.load_untrusted_json(data, "model JSON")
    return deserialize_keras_object(config, custom_objects=custom_objects)
