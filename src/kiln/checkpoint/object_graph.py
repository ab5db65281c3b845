"""The object graph of a checkpoint: which objects it holds and each variable's key.

Every trackable object (a layer, model, optimizer, metric, seed generator, `Checkpoint`)
has named edges to its children, listed by `children(obj)`:

- Functional and Sequential models: `layer_with_weights-<k>` for the k-th layer that
  has weights and `layer-<i>` for the i-th layer of `model.layers` (both edges point at the
  same layer, so a weightless layer inserted anywhere does not disturb the weights).
- Every layer: its attributes holding layers, optimizers, seed generators, metrics or
  variables (`dense`, `kernel`, `optimizer`), items of list/dict attributes
  (`blocks/0`), then any variable the layer owns that no attribute names, under the
  variable's own name (`kernel` for `self._kernel = self.add_weight(name="kernel")`).
- Optimizers: their own variables by name (`iteration`, `learning_rate`). Their slots
  (`momentum`, `velocity`, ...) hang off the variable they belong to:
  `<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot name>`.
- Metrics: their variables by name (`total`, `count`); seed generators: `state`.

A variable is stored once, under the first path a breadth-first walk from the root
reaches it by, plus the suffix `/.ATTRIBUTES/VARIABLE_VALUE` (TensorFlow's spelling):
`layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`. Because keys come from structure
and attribute names, never from layer names, a model built again (or built differently
with the same structure) restores from it.
"""

import collections
import functools

import torch

from kiln.core.variable import Variable

VARIABLE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
VALUE_SUFFIX = "/.ATTRIBUTES/PYTHON_VALUE"
SLOT_MARK = ".OPTIMIZER_SLOT"
GRAPH_FORMAT = "kiln.checkpoint.object_graph"
GRAPH_VERSION = 1

# Model attributes that hold training bookkeeping, not state a weights checkpoint keeps.
_MODEL_INTERNALS = frozenset({
    "_compile_loss", "_compile_metrics", "_loss_tracker", "_kiln_step_runner", "history",
    "_compile_config", "_kiln_compiled_forward", "loss",
})
_MAX_DEPTH = 16


class PlainValue:
    """A Python number or array held directly by a `Checkpoint` (`Checkpoint(step=3)`)."""

    __slots__ = ("owner", "name")

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    @property
    def value(self):
        return getattr(self.owner, self.name)

    def as_tensor(self):
        value = self.value
        if isinstance(value, torch.Tensor):
            return value.detach()
        if isinstance(value, bool):
            return torch.tensor(value)
        if isinstance(value, int):
            return torch.tensor(value, dtype=torch.int64)
        if isinstance(value, float):
            return torch.tensor(value, dtype=torch.float64)
        return torch.from_numpy(value.copy())

    def kind(self):
        value = self.value
        for kind, types in (("bool", bool), ("int", int), ("float", float),
                            ("torch", torch.Tensor)):
            if isinstance(value, types):
                return kind
        return "numpy"

    @staticmethod
    def convert(tensor, kind):
        if kind in ("bool", "int", "float"):
            return {"bool": bool, "int": int, "float": float}[kind](tensor.item())
        if kind == "torch":
            return tensor
        return tensor.numpy()


# -- what is trackable ------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _classes():
    from kiln.layers.layer import Layer
    from kiln.metrics.metric import Metric
    from kiln.optimizers.optimizer import Optimizer
    from kiln.random.seed_generator import SeedGenerator

    return Layer, Optimizer, Metric, SeedGenerator


def is_object(value):
    """True for trackable objects that have children (not variables or plain values)."""
    if hasattr(type(value), "_checkpoint_children"):
        return True
    return isinstance(value, _classes())


def is_trackable(value):
    return isinstance(value, (Variable, PlainValue)) or is_object(value)


@functools.lru_cache(maxsize=None)
def _skip_names():
    from kiln.saving.weights_walk import _base_skipset

    return (_base_skipset() - {"optimizer"}) | _MODEL_INTERNALS


def _attribute_order(name):
    return (name.startswith("_"), name)


# -- children -------------------------------------------------------------------------------
def children(obj):
    """`[(edge name, child)]` for a trackable object, in a fixed order (see module doc)."""
    custom = getattr(type(obj), "_checkpoint_children", None)
    if custom is not None:
        return custom(obj)
    Layer, Optimizer, Metric, SeedGenerator = _classes()
    if isinstance(obj, Layer):
        return _layer_children(obj)
    if isinstance(obj, Optimizer):
        slots = {id(s) for _, _, s in slot_variables(obj)}
        return _named([v for v in obj.variables if id(v) not in slots])
    if isinstance(obj, Metric):
        return _named(obj.variables)
    if isinstance(obj, SeedGenerator):
        return [("state", obj.state)]
    return []


def _named(variables, taken=()):
    out, used = [], set(taken)
    for v in variables:
        name = _unique(str(v.name), used)
        out.append((name, v))
    return out


def _unique(name, used):
    base, n = name, 0
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def _layer_children(layer):
    from kiln.layers.core.input_layer import InputLayer
    from kiln.layers.layer import Layer
    from kiln.models.functional import Functional
    from kiln.models.sequential import Sequential

    out = []
    graph_model = isinstance(layer, (Functional, Sequential))
    registered = set()
    if graph_model:
        k = 0
        for i, sub in enumerate(layer.layers):
            registered.add(id(sub))
            if sub.weights:
                out.append((f"layer_with_weights-{k}", sub))
                k += 1
            out.append((f"layer-{i}", sub))
    names = set(layer.__dict__)
    for key, module in layer._modules.items():
        if isinstance(module, Layer) and not (
                graph_model and id(module) in registered and key == module.name.replace(".", "_")):
            names.add(key)
    skip = _skip_names()
    for name in sorted(names, key=_attribute_order):
        if name in skip or name.startswith("__"):
            continue
        value = layer.__dict__[name] if name in layer.__dict__ else layer._modules.get(name)
        out.extend(_attribute_edges(name, value, name.startswith("_"), 0))
    reached = {id(child) for _, child in out}
    used = {name for name, _ in out}
    for v in layer._own_variables():
        if id(v) not in reached:
            reached.add(id(v))
            out.append((_unique(str(v.name), used), v))
    for sub in layer._tracked_layers:
        if id(sub) not in reached and not isinstance(sub, InputLayer):
            reached.add(id(sub))
            out.append((_unique(sub.name, used), sub))
    return out


def _attribute_edges(name, value, private, depth):
    """Edges for attribute `name` (which may be a list/dict of trackables)."""
    if isinstance(value, Variable):
        return [] if private else [(name, value)]
    if isinstance(value, PlainValue):
        return []
    if is_object(value):
        Layer, Optimizer, Metric, SeedGenerator = _classes()
        if private and isinstance(value, Metric):
            return []
        return [(name, value)]
    if depth >= _MAX_DEPTH or not isinstance(value, (list, tuple, dict)):
        return []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    out = []
    for key, item in items:
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            key = str(key).replace("/", "_") or "_"
            out.extend(_attribute_edges(f"{name}/{key}", item, private, depth + 1))
    return out


# -- optimizer slots ---------------------------------------------------------------------------
def _slot_name(slot, reference, attribute):
    ref_name = getattr(reference, "path", None) or str(reference.name)
    prefix = ref_name.replace("/", "_").replace(":", "_") + "_"
    name = str(slot.name)
    if name.startswith(prefix) and len(name) > len(prefix):
        return name[len(prefix):]
    return attribute.lstrip("_") or attribute


def slot_variables(optimizer):
    """`[(model variable, slot name, slot variable)]` of a built optimizer.

    A slot list is any list attribute aligned with the variables the optimizer was built
    for (same length, same shapes, holding the optimizer's own variables or None), which
    is how every kiln optimizer keeps `momentum`, `velocity`, `average`, ... The slot name
    is what was passed to `add_variable_from_reference`.
    """
    var_list = list(getattr(optimizer, "_trainable_variables", None) or [])
    if not var_list or not getattr(optimizer, "built", False):
        return []
    own = {id(v) for v in optimizer.variables}
    found = {}
    for attribute, value in vars(optimizer).items():
        if attribute in ("_variables", "_trainable_variables"):
            continue
        if not isinstance(value, (list, tuple)) or len(value) != len(var_list):
            continue
        if all(s is None for s in value) or not all(
                s is None or (isinstance(s, Variable) and id(s) in own and s.shape == r.shape)
                for s, r in zip(value, var_list)):
            continue
        for slot, reference in zip(value, var_list):
            if slot is not None and id(slot) not in found:
                found[id(slot)] = (reference, _slot_name(slot, reference, attribute))
    out, used = [], collections.defaultdict(set)
    for v in optimizer.variables:
        if id(v) in found:
            reference, name = found[id(v)]
            out.append((reference, _unique(name, used[id(reference)]), v))
    return out


# -- the graph of a live object ------------------------------------------------------------------
class Graph:
    """The object graph reachable from `root`, with every variable's checkpoint key.

    Attributes:
        nodes: JSON-ready list; node 0 is the root. Object nodes have `class` and
            `children` (`[[edge, node id], ...]`), optimizer nodes also `slots`
            (`[[variable node, slot name, slot node], ...]`); variable and value nodes
            have `key` (and values a `kind`).
        tensors: `{key: tensor}` to store (variables' live tensors, plain values).
        variable_keys: `{id(variable): key}`.
        objects: `{node id: live object}`.
        dropped_slots: slot variables whose model variable is not in the graph.
    """

    def __init__(self, root):
        self.nodes, self.tensors, self.variable_keys = [], {}, {}
        self.objects, self.paths, self.dropped_slots = {}, {}, []
        self._ids = {}
        self._build(root)

    def _add(self, obj, path):
        node_id = len(self.nodes)
        self._ids[id(obj)] = node_id
        self.objects[node_id] = obj
        self.paths[node_id] = path
        if isinstance(obj, Variable):
            key = path + VARIABLE_SUFFIX
            node = {"class": "Variable", "key": key}
            self.tensors[key] = obj.value
            self.variable_keys[id(obj)] = key
        elif isinstance(obj, PlainValue):
            key = path + VALUE_SUFFIX
            node = {"class": "value", "key": key, "kind": obj.kind()}
            self.tensors[key] = obj.as_tensor()
        else:
            node = {"class": type(obj).__name__, "children": []}
        self.nodes.append(node)
        return node_id

    def _build(self, root):
        self._add(root, "")
        queue = collections.deque([0])
        while queue:
            node_id = queue.popleft()
            obj, path = self.objects[node_id], self.paths[node_id]
            for name, child in children(obj):
                child_id = self._ids.get(id(child))
                if child_id is None:
                    child_id = self._add(child, f"{path}/{name}" if path else name)
                    if "children" in self.nodes[child_id]:
                        queue.append(child_id)
                self.nodes[node_id]["children"].append([name, child_id])
        _, Optimizer, _, _ = _classes()
        for node_id, obj in list(self.objects.items()):
            if isinstance(obj, Optimizer):
                self._add_slots(node_id, obj)

    def _add_slots(self, node_id, optimizer):
        slots = []
        for reference, name, slot in slot_variables(optimizer):
            ref_id = self._ids.get(id(reference))
            if ref_id is None:
                self.dropped_slots.append(slot)
                continue
            slot_id = self._ids.get(id(slot))
            if slot_id is None:
                parts = [self.paths[ref_id], SLOT_MARK, self.paths[node_id], name]
                slot_id = self._add(slot, "/".join(p for p in parts if p))
            slots.append([ref_id, name, slot_id])
        self.nodes[node_id]["slots"] = slots

    def as_json(self):
        return {"format": GRAPH_FORMAT, "version": GRAPH_VERSION, "nodes": self.nodes}

    def all_variables(self):
        """`[(key, variable)]` for every variable node, in key order."""
        return sorted((n["key"], self.objects[i]) for i, n in enumerate(self.nodes)
                      if n.get("class") == "Variable")
