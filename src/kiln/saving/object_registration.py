"""The registry of custom objects: how a name in a file finds a user's class or function.

A file can only name objects; it never chooses code. Names resolve, in order, through
the `custom_objects` argument, the innermost active `custom_object_scope`, and the global
registry filled by `@register_keras_serializable`.
"""

import inspect
import threading

GLOBAL_CUSTOM_OBJECTS = {}
GLOBAL_CUSTOM_NAMES = {}
_scope = threading.local()


def _scope_stack():
    stack = getattr(_scope, "stack", None)
    if stack is None:
        stack = _scope.stack = []
    return stack


class CustomObjectScope:
    """Makes custom objects visible to deserialization within a `with` block.

    Example:
        >>> with kiln.saving.custom_object_scope({"MyLayer": MyLayer}):
        ...     model = kiln.Model.from_config(config)
    """

    def __init__(self, custom_objects=None, *more):
        merged = {}
        for objects in (custom_objects,) + more:
            merged.update(objects or {})
        self.custom_objects = merged

    def __enter__(self):
        stack = _scope_stack()
        combined = dict(stack[-1]) if stack else {}
        combined.update(self.custom_objects)
        stack.append(combined)
        return self

    def __exit__(self, *exc):
        _scope_stack().pop()


custom_object_scope = CustomObjectScope


def active_scope_objects():
    stack = _scope_stack()
    return stack[-1] if stack else {}


def get_custom_objects():
    """The live dict of globally registered custom objects (name → object).

    Example:
        >>> kiln.saving.get_custom_objects().clear()
    """
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Registers a class or function under `"package>name"` so files can name it.

    Example:
        >>> @kiln.saving.register_keras_serializable(package="MyLayers")
        ... class KernelMult(kiln.layers.Layer):
        ...     ...
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"`package` must be a string without '>'. Received: package={package!r}")

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        key = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError(
                f"Cannot register {arg.__name__}: classes registered for serialization must "
                "implement `get_config()` (and `from_config()` if the constructor takes "
                "non-plain values)."
            )
        GLOBAL_CUSTOM_OBJECTS[key] = arg
        GLOBAL_CUSTOM_NAMES[arg] = key
        return arg

    return decorator


def get_registered_name(obj):
    """The name `obj` is saved under: `"package>Name"` if registered, else its `__name__`."""
    try:
        if obj in GLOBAL_CUSTOM_NAMES:
            return GLOBAL_CUSTOM_NAMES[obj]
    except TypeError:
        pass
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks `name` up in the active scope, the registry, `custom_objects`, `module_objects`.

    Returns None when nothing matches.
    """
    scope = active_scope_objects()
    if name in scope:
        return scope[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None
