"""The table of kiln's built-in classes and the Keras namespaces they are written under.

Deserialization resolves names only here and in the custom-object registry. A
`module` field in a file is a hint for choosing among these tables (`keras.losses` vs
`keras.metrics` both have `MeanSquaredError`); it is never imported.
"""

import functools
import importlib
import sys
import weakref

# kiln subpackage → the public Keras namespace its classes are written under.
NAMESPACES = {
    "layers": "keras.layers",
    "initializers": "keras.initializers",
    "regularizers": "keras.regularizers",
    "constraints": "keras.constraints",
    "losses": "keras.losses",
    "metrics": "keras.metrics",
    "optimizers": "keras.optimizers",
    "schedules": "keras.optimizers.schedules",
    "models": "keras",
    "dtype_policies": "keras",
    "random": "keras.random",
}
# Tokens that may appear in a Keras module path, mapped to the table to search first.
_HINTS = {
    "layers": "layers", "initializers": "initializers", "regularizers": "regularizers",
    "constraints": "constraints", "losses": "losses", "metrics": "metrics",
    "optimizers": "optimizers", "schedules": "schedules", "learning_rate_schedule": "schedules",
    "models": "models", "dtype_policies": "dtype_policies", "ops": "ops",
    "random": "random",
}
_SEARCH_ORDER = ("layers", "models", "dtype_policies", "initializers", "regularizers",
                 "constraints", "optimizers", "schedules", "losses", "metrics", "random")
# Classes whose Keras envelope is not "<namespace>/<ClassName>/null".
_SPECIAL = {
    "Functional": ("keras.src.models.functional", "Functional", "Functional"),
}


def _module_name(table):
    return "kiln.optimizers.schedules" if table == "schedules" else f"kiln.{table}"


def _load(table):
    if table == "ops":
        return {}
    module_name = _module_name(table)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return {}
    return dict(getattr(module, "ALL_OBJECTS", {}))


@functools.lru_cache(maxsize=None)
def table(name):
    objects = _load(name)
    if name == "ops":
        from kiln.layers.core import tensor_ops

        return dict(tensor_ops.ALL_OBJECTS)
    if name == "models":
        from kiln.dtype_policies import DTypePolicy

        objects["DTypePolicy"] = DTypePolicy
    return objects


def clear_cache():
    table.cache_clear()
    _classes_of.cache_clear()
    _NAMESPACE_OF.clear()


def hint_from_module(module):
    if not module:
        return None
    for part in reversed(module.split(".")):
        part = part.removeprefix("torch_")
        if part in _HINTS:
            return _HINTS[part]
    return None


@functools.lru_cache(maxsize=None)
def _search_order(hint):
    return ((hint,) if hint else ()) + tuple(t for t in _SEARCH_ORDER if t != hint)


def find_class(class_name, module=None):
    """The built-in class for `class_name`, preferring the table `module` hints at."""
    for name in _search_order(hint_from_module(module)):
        cls = table(name).get(class_name)
        if cls is not None:
            return cls
    return None


@functools.lru_cache(maxsize=None)
def _classes_of(name):
    return frozenset(table(name).values())


def _namespace_of(cls):
    """The Keras namespace a built-in class is written under, or None.

    Only the tables of packages already imported are searched: a class's own package is
    imported before the class exists, so saving a model never imports, say, the losses
    and metrics just to find out that a Dense layer is not among them. Among those
    tables the later in the search order wins, as it always has (only DTypePolicy is in
    two tables, both written under "keras").
    """
    try:
        return _NAMESPACE_OF[cls]
    except KeyError:
        pass
    found = None
    for name in reversed(_SEARCH_ORDER):
        if _module_name(name) in sys.modules and cls in _classes_of(name):
            found = NAMESPACES[name]
            break
    _NAMESPACE_OF[cls] = found
    return found


_NAMESPACE_OF = weakref.WeakKeyDictionary()  # class -> namespace or None (`_namespace_of`)


def keras_envelope_names(cls):
    """`(module, class_name, registered_name)` to write for a built-in class, or None."""
    special = _SPECIAL.get(cls.__name__)
    if special and cls.__module__.startswith("kiln."):
        return special
    custom = getattr(cls, "_keras_envelope", None)
    if custom is not None and cls.__dict__.get("_keras_envelope") is custom:
        return custom
    namespace = _namespace_of(cls)
    return None if namespace is None else (namespace, cls.__name__, None)


# Public helpers that are not modeling functions: a file may never name them.
_NOT_MODELING = frozenset({"get", "serialize", "deserialize"})


def find_function(name, module=None):
    """A built-in function by name (activations, losses, metrics), or None."""
    hint = hint_from_module(module)
    order = [hint] if hint in ("losses", "metrics") else []
    order += ["activations", "losses", "metrics"]
    for package in order:
        try:
            mod = importlib.import_module(f"kiln.{package}")
        except ImportError:
            continue
        if name in _NOT_MODELING or name not in getattr(mod, "__all__", ()):
            continue
        fn = getattr(mod, name, None)
        if callable(fn) and not isinstance(fn, type) and not name.startswith("_") \
                and getattr(fn, "__module__", "").startswith("kiln."):
            return fn
    return None
