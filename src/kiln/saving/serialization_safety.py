"""Safe deserialization: the audit that runs before anything is built, and safe mode.

`audit` walks a whole config iteratively (no recursion limit to hit), checks every
envelope resolves to a registered or built-in object, and refuses Python bytecode
unless safe mode is off. Safe mode can only be turned off by the caller
(`safe_mode=False`, `kiln.config.enable_unsafe_deserialization()`); no file field
can do it.
"""

import base64
import contextlib
import marshal
import threading
import types

import numpy as np

from kiln.errors import DeserializationError, UnsafeDeserializationError

MAX_DEPTH = 256
NOT_SPECIAL = object()
_SPECIAL_NAMES = frozenset({"__numpy__", "__tensor__", "__bytes__", "__slice__",
                            "__ellipsis__", "__keras_tensor__", "__lambda__", "__typespec__"})
_state = threading.local()
_global = {"unsafe": False}


def enable_unsafe_deserialization():
    """Allows loading Python bytecode (Lambda layers) from files, process-wide.

    Only call this for files you trust completely: loading then runs code from the file.
    """
    _global["unsafe"] = True


def in_safe_mode():
    scoped = getattr(_state, "safe_mode", None)
    if scoped is not None:
        return scoped
    return not _global["unsafe"]


@contextlib.contextmanager
def safe_mode_scope(safe_mode=True):
    """Sets safe mode for nested deserialization; an enclosing scope's value wins."""
    previous = getattr(_state, "safe_mode", None)
    if previous is not None:
        effective = previous
    elif safe_mode is None:
        effective = not _global["unsafe"]
    else:
        effective = bool(safe_mode) and not _global["unsafe"]
    _state.safe_mode = effective
    try:
        yield effective
    finally:
        _state.safe_mode = previous


def _unsafe_message(what, path):
    return (
        f"At {path}: requested the deserialization of {what}, which is stored as Python "
        "bytecode. Loading it executes code from the file, so it is refused in safe mode. "
        "If you trust the file's source completely, pass `safe_mode=False` to the loading "
        "function or call `kiln.config.enable_unsafe_deserialization()`."
    )


def check_lambda_allowed(path, what="a Python lambda"):
    if in_safe_mode():
        raise UnsafeDeserializationError(_unsafe_message(what, path))


def audit(config, custom_objects, safe_mode):
    """Checks a whole config before construction; raises at the first problem with its path."""
    from kiln.saving.serialization import resolve

    stack = [(config, "config", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DeserializationError(
                f"At {path}: the config nests deeper than {MAX_DEPTH} levels. "
                "A model config is never this deep; the file is damaged or hostile."
            )
        if isinstance(node, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node))
            continue
        if not isinstance(node, dict):
            if node is not None and not isinstance(node, (str, int, float, bool)):
                raise DeserializationError(
                    f"At {path}: unexpected value of type {type(node).__name__} in a config."
                )
            continue
        class_name = node.get("class_name")
        if "class_name" in node and "config" in node:
            if class_name in _SPECIAL_NAMES:
                if class_name == "__lambda__":
                    if safe_mode:
                        raise UnsafeDeserializationError(_unsafe_message("a Python lambda", path))
                continue
            resolve(node, custom_objects, path)
            if class_name == "Lambda" and isinstance(node["config"], dict):
                fn = node["config"].get("function")
                if isinstance(fn, (list, tuple)) or isinstance(fn, dict) and \
                        fn.get("class_name") == "__lambda__":
                    if safe_mode:
                        raise UnsafeDeserializationError(
                            _unsafe_message("a `Lambda` layer whose function is a Python lambda",
                                            path))
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                stack.append((value, f"{path}.{key}", depth + 1))


def decode_special(class_name, inner, path):
    """Decodes Keras's special encodings (`__numpy__`, `__slice__`, ...) or NOT_SPECIAL."""
    if class_name not in _SPECIAL_NAMES:
        return NOT_SPECIAL
    if not isinstance(inner, dict):
        raise DeserializationError(f"At {path}: {class_name} needs a dict config.")
    if class_name == "__numpy__":
        return np.array(inner.get("value"), dtype=_plain_dtype(inner.get("dtype"), path))
    if class_name == "__tensor__":
        import torch

        arr = np.array(inner.get("value"), dtype=_plain_dtype(inner.get("dtype"), path))
        return torch.from_numpy(arr)
    if class_name == "__bytes__":
        value = inner.get("value")
        if not isinstance(value, str):
            raise DeserializationError(f"At {path}: __bytes__ needs a string value.")
        return value.encode("latin-1")
    if class_name == "__slice__":
        parts = [inner.get(k) for k in ("start", "stop", "step")]
        if not all(p is None or isinstance(p, int) for p in parts):
            raise DeserializationError(f"At {path}: slice bounds must be integers or null.")
        return slice(*parts)
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__lambda__":
        check_lambda_allowed(path)
        return decode_lambda(inner.get("value"), path)
    if class_name == "__keras_tensor__":
        raise DeserializationError(
            f"At {path}: a symbolic tensor reference is only valid inside a functional "
            "model's `inbound_nodes`."
        )
    raise DeserializationError(f"At {path}: {class_name} (TensorFlow type specs) is not supported.")


def _plain_dtype(name, path):
    allowed = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
               "uint16", "uint32", "uint64", "bool"}
    if name not in allowed:
        raise DeserializationError(
            f"At {path}: array dtype {name!r} is not a plain numeric dtype ({sorted(allowed)})."
        )
    return name


def decode_lambda(value, path):
    """Rebuilds a Python function from base64 bytecode. Only reachable with safe mode off."""
    check_lambda_allowed(path)
    if isinstance(value, dict):
        code, defaults, closure = value.get("code"), value.get("defaults"), value.get("closure")
    elif isinstance(value, (list, tuple)) and len(value) == 3:
        code, defaults, closure = value
    else:
        raise DeserializationError(f"At {path}: malformed lambda encoding.")
    try:
        raw = base64.b64decode(code.encode("ascii"))
        func_code = marshal.loads(raw)  # explicit unsafe path: the caller turned safe mode off
    except Exception as e:
        raise DeserializationError(
            f"At {path}: the lambda's bytecode could not be read ({e}). Bytecode only loads "
            "in the Python version that wrote it."
        ) from e
    cells = tuple(types.CellType(c) for c in closure) if closure else None
    import builtins

    return types.FunctionType(func_code, {"__builtins__": builtins}, None,
                              tuple(defaults) if defaults else None, cells)
