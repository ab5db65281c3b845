"""Which object's variables go where in a weights file (keras-format.md §4.2).

Keras names every stored object by the attribute path that first reaches it from the
model: `layers/dense_1`, `encoder/blocks/dense`, `optimizer`, and `""` for the model
itself. Functional and Sequential models list `layers` first; then attributes follow in
sorted order with private names last; items of lists and dicts are named by their
snake_case class name with a per-container counter (which also counts items that were
already saved elsewhere). An object is stored only under the first path that reaches it.

kiln reproduces that walk from its own objects: the candidate attributes are the
instance's own attributes (including torch child modules) and properties defined by user
classes, never kiln's internal bookkeeping.
"""

import functools

from kiln.utils.naming import to_snake_case


def _sort_key(name):
    return "~" + name if name.startswith("_") else name


@functools.lru_cache(maxsize=None)
def _base_skipset():
    from kiln.layers.layer import Layer

    bare = Layer()
    names = set(dir(bare)) | set(bare.__dict__) | {"_self_unconditional_dependency_names"}
    # kiln's own model bookkeeping (Keras's Model has no such attributes).
    names |= {"_operations", "operations", "_plan", "_stack", "_nodes_by_depth",
              "_network_nodes", "_input_layer", "_outputs_tensor", "_inputs_struct",
              "_outputs_struct", "inputs", "outputs", "_functional", "_compile_state",
              "_build_input_shape", "_variable_keys", "_tracked_layers"}
    return frozenset(names)


@functools.lru_cache(maxsize=None)
def _user_class_attrs(cls):
    """Names defined (as properties or class attributes) by non-kiln classes in the MRO."""
    names = set()
    for klass in cls.__mro__:
        module = getattr(klass, "__module__", "") or ""
        if module.startswith(("kiln.", "torch.")) or klass is object:
            continue
        names.update(k for k, v in vars(klass).items() if isinstance(v, property))
    return frozenset(names)


@functools.lru_cache(maxsize=None)
def _saveable_types():
    from kiln.layers.layer import Layer

    try:
        from kiln.optimizers import Optimizer
    except ImportError:
        return (Layer,)
    return (Layer, Optimizer)


@functools.lru_cache(maxsize=None)
def _model_types():
    from kiln.layers.layer import Layer
    from kiln.models.functional import Functional
    from kiln.models.model import Model
    from kiln.models.sequential import Sequential

    return Layer, Model, (Functional, Sequential)


@functools.lru_cache(maxsize=None)
def _item_base_name(cls):
    """The snake_case class name that names a saveable inside a list or dict."""
    return to_snake_case(cls.__name__)


def is_saveable(obj):
    return isinstance(obj, _saveable_types())


_ALWAYS_VISITED = frozenset({"optimizer", "layers"})


def _children(obj):
    layer_type, model_type, graph_types = _model_types()
    if isinstance(obj, graph_types):
        yield "layers", obj.layers
    if not isinstance(obj, layer_type):
        return  # optimizers keep only their own variables
    names = set(obj.__dict__) | set(obj._modules) | _user_class_attrs(type(obj))
    if isinstance(obj, model_type):
        names.add("optimizer")
        if not isinstance(obj, graph_types):
            names.add("layers")
    # Filter before sorting: most of a layer's attributes are kiln bookkeeping.
    names = (names - _base_skipset()) | (names & _ALWAYS_VISITED)
    for name in sorted(names, key=_sort_key):
        if name.startswith("__"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:
            continue
        yield name, value


def _join(path, name):
    return f"{path}/{name}" if path else name


def walk(root):
    """Returns `[(path, object)]` for every saveable reachable from `root`, first visit wins."""
    out = []
    visited = set()
    visited_containers = set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj))
        for name, child in _children(obj):
            if is_saveable(child):
                visit(child, _join(path, name))
            elif isinstance(child, (list, tuple, dict)):
                visit_container(child, _join(path, name))

    def visit_container(container, path):
        if id(container) in visited_containers:
            return
        visited_containers.add(id(container))
        items = list(container.values()) if isinstance(container, dict) else list(container)
        used = {}
        for item in items:
            saveable = is_saveable(item)
            if saveable:
                base = _item_base_name(type(item))
            elif isinstance(item, (list, tuple, dict)):
                base = "container"
            else:
                continue
            if base in used:
                used[base] += 1
                name = f"{base}_{used[base]}"
            else:
                used[base] = 0
                name = base
            if saveable:
                visit(item, _join(path, name))
            else:
                visit_container(item, _join(path, name))

    visit(root, "")
    return out


def own_variables(obj):
    """The variables `obj` stores in its own `vars` group, in file order."""
    from kiln.layers.layer import Layer

    if isinstance(obj, Layer):
        return obj._own_variables()
    return list(obj.variables)
