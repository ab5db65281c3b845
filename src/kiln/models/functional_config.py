"""Functional and Sequential configs in Keras 3's format, both ways (keras-format.md §2.3–2.4)."""

import collections

from kiln.core.keras_tensor import KerasTensor
from kiln.errors import DeserializationError
from kiln.layers.node import flatten


# -- functional: model → config ------------------------------------------------------
def _node_index_map(model):
    """Per operation, old node index → index among the nodes that belong to this model."""
    mapping = {}
    for op in model._operations:
        kept = 0
        for i, node in enumerate(op._inbound_nodes):
            if id(node) in model._network_nodes:
                mapping[(id(op), i)] = kept
                kept += 1
    return mapping


def _tensor_ref(t, mapping):
    op, node_index, tensor_index = t._keras_history
    return op, mapping.get((id(op), node_index), node_index), tensor_index


def _serialize_arg(value, mapping):
    from kiln.saving.serialization import serialize_keras_object

    if isinstance(value, KerasTensor):
        op, node_index, tensor_index = _tensor_ref(value, mapping)
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(value.shape), "dtype": value.dtype,
            "keras_history": [op.name, node_index, tensor_index]}}
    if isinstance(value, (list, tuple)):
        return [_serialize_arg(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_arg(v, mapping) for k, v in value.items()}
    return serialize_keras_object(value)


def _io_refs(structure, mapping, is_input):
    from kiln.models.functional import Functional

    def ref(t):
        op, node_index, tensor_index = _tensor_ref(t, mapping)
        if isinstance(op, Functional) and not is_input:
            node_index += 1  # Keras counts a built-in node for nested functional models
        return [op.name, node_index, tensor_index]

    if isinstance(structure, KerasTensor):
        return ref(structure)
    if isinstance(structure, dict):
        return {k: _io_refs(v, mapping, is_input) for k, v in structure.items()}
    return [_io_refs(v, mapping, is_input) for v in structure]


def get_config(model):
    from kiln.saving.serialization import serialize_keras_object

    mapping = _node_index_map(model)
    layers = []
    for op in model._operations:
        entry = serialize_keras_object(op)
        entry["name"] = op.name
        nodes = []
        for node in op._inbound_nodes:
            if id(node) not in model._network_nodes or node.is_input:
                continue
            nodes.append({"args": _serialize_arg(list(node.arguments_args), mapping),
                          "kwargs": _serialize_arg(node.arguments_kwargs, mapping)})
        entry["inbound_nodes"] = nodes
        layers.append(entry)
    config = {"name": model.name, "trainable": model.trainable, "layers": layers,
              "input_layers": _io_refs(model._inputs_struct, mapping, True),
              "output_layers": _io_refs(model._outputs_struct, mapping, False)}
    return config


# -- functional: config → model ------------------------------------------------------
def _is_leaf(x):
    return isinstance(x, list) and len(x) == 3 and isinstance(x[0], str)


class _Graph:
    def __init__(self, model_name):
        self.model_name = model_name
        self.layers = {}
        self.outputs = collections.defaultdict(list)  # layer name → output struct per node

    def tensor(self, name, node_index, tensor_index, path):
        if name not in self.layers:
            raise DeserializationError(
                f"At {path}: reference to unknown layer '{name}' in model '{self.model_name}'."
            )
        produced = self.outputs[name]
        if not isinstance(node_index, int) or not isinstance(tensor_index, int):
            raise DeserializationError(f"At {path}: node and tensor indices must be integers.")
        if node_index >= len(produced):
            return None
        flat = [t for t in flatten(produced[node_index]) if isinstance(t, KerasTensor)]
        if not 0 <= tensor_index < len(flat):
            raise DeserializationError(
                f"At {path}: layer '{name}' has no output tensor {tensor_index} at node "
                f"{node_index}."
            )
        return flat[tensor_index]


class _NotReady(Exception):
    pass


def _deserialize_arg(value, graph, path):
    from kiln.saving.serialization import deserialize_keras_object

    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        if not _is_leaf(history):
            raise DeserializationError(f"At {path}: malformed keras_history {history!r}.")
        t = graph.tensor(*history, path)
        if t is None:
            raise _NotReady
        return t
    if isinstance(value, list):
        return [_deserialize_arg(v, graph, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and not ("class_name" in value and "config" in value):
        return {k: _deserialize_arg(v, graph, f"{path}.{k}") for k, v in value.items()}
    return deserialize_keras_object(value)


def _legacy_node(node, graph, path):
    """Keras 2 nodes: `[[name, node_index, tensor_index, kwargs], ...]`."""
    tensors, kwargs = [], {}
    for i, entry in enumerate(node):
        if not isinstance(entry, list) or len(entry) < 3:
            raise DeserializationError(f"At {path}[{i}]: malformed legacy node entry.")
        t = graph.tensor(entry[0], entry[1], entry[2], f"{path}[{i}]")
        if t is None:
            raise _NotReady
        tensors.append(t)
        if len(entry) > 3 and isinstance(entry[3], dict):
            kwargs = {k: _deserialize_arg(v, graph, path) for k, v in entry[3].items()}
    return ([tensors[0]] if len(tensors) == 1 else [tensors]), kwargs


def _call_node(layer, name, node, graph, path):
    if isinstance(node, dict):
        args = _deserialize_arg(node.get("args", []), graph, f"{path}.args")
        kwargs = _deserialize_arg(node.get("kwargs", {}), graph, f"{path}.kwargs")
    elif isinstance(node, list):
        args, kwargs = _legacy_node(node, graph, path)
    else:
        raise DeserializationError(f"At {path}: a node must be a dict or a list.")
    try:
        out = layer(*args, **kwargs)
    except (ValueError, TypeError) as e:
        raise DeserializationError(f"At {path}: calling layer '{layer.name}' failed: {e}") from e
    graph.outputs[name].append(out)


def from_config(cls, config, custom_objects=None):
    from kiln.layers.layer import Layer
    from kiln.saving import legacy_config
    from kiln.saving.serialization import deserialize_keras_object

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise DeserializationError("A functional model config needs a `layers` list.")
    name = config.get("name")
    graph = _Graph(name)
    pending = collections.deque()
    for i, layer_data in enumerate(config["layers"]):
        path = f"config.layers[{i}]"
        if not isinstance(layer_data, dict):
            raise DeserializationError(f"At {path}: a layer entry must be a dict.")
        layer_name = layer_data.get("name") or (layer_data.get("config") or {}).get("name")
        entry = {k: v for k, v in layer_data.items() if k not in ("name", "inbound_nodes")}
        if "module" not in entry:
            entry = legacy_config.convert_layer_entry(entry)
        layer = deserialize_keras_object(entry, custom_objects=custom_objects)
        if not isinstance(layer, Layer):
            raise DeserializationError(
                f"At {path}: expected a layer or operation, got {type(layer).__name__}."
            )
        if layer_name in graph.layers:
            raise DeserializationError(f"At {path}: duplicate layer name {layer_name!r}.")
        graph.layers[layer_name] = layer
        if getattr(layer, "output_tensor", None) is not None and not layer_data.get("inbound_nodes"):
            graph.outputs[layer_name].append(layer.output_tensor)
        nodes = layer_data.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise DeserializationError(f"At {path}.inbound_nodes: expected a list.")
        for j, node in enumerate(nodes):
            pending.append((layer, layer_name, node, f"{path}.inbound_nodes[{j}]"))
    # Process nodes whose inputs exist; stop when a full pass makes no progress.
    # Nodes of one layer keep their order (node indices are positional).
    stalled = 0
    blocked = set()
    while pending:
        layer, layer_name, node, path = pending.popleft()
        if id(layer) in blocked:
            pending.append((layer, layer_name, node, path))
            stalled += 1
        else:
            try:
                _call_node(layer, layer_name, node, graph, path)
                stalled = 0
                blocked.clear()
                continue
            except _NotReady:
                blocked.add(id(layer))
                pending.append((layer, layer_name, node, path))
                stalled += 1
        if stalled > len(pending):
            raise DeserializationError(
                f"At {path}: layer '{layer.name}' consumes tensors that no layer produces "
                "(a cycle or a reference to a missing node) in model "
                f"'{name}'."
            )
    inputs = _resolve_io(config.get("input_layers"), graph, "config.input_layers", False)
    outputs = _resolve_io(config.get("output_layers"), graph, "config.output_layers", True)
    extra = {k: v for k, v in config.items()
             if k not in ("name", "trainable", "layers", "input_layers", "output_layers")}
    model = cls(inputs=inputs, outputs=outputs, name=name, **extra)
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _resolve_io(structure, graph, path, is_output):
    from kiln.models.functional import Functional

    if _is_leaf(structure):
        name, node_index, tensor_index = structure
        layer = graph.layers.get(name)
        if is_output and isinstance(layer, Functional):
            node_index -= 1
        t = graph.tensor(name, node_index, tensor_index, path)
        if t is None:
            raise DeserializationError(f"At {path}: layer '{name}' has no node {node_index}.")
        return t
    if isinstance(structure, dict):
        return {k: _resolve_io(v, graph, f"{path}.{k}", is_output) for k, v in structure.items()}
    if isinstance(structure, list):
        return [_resolve_io(v, graph, f"{path}[{i}]", is_output) for i, v in enumerate(structure)]
    raise DeserializationError(f"At {path}: expected [layer_name, node_index, tensor_index].")


# -- Sequential --------------------------------------------------------------------
def sequential_get_config(model):
    from kiln import dtype_policies
    from kiln.saving.serialization import serialize_keras_object

    layers = []
    if model._input_layer is not None:
        layers.append(serialize_keras_object(model._input_layer))
    layers.extend(serialize_keras_object(layer) for layer in model._stack)
    config = {"name": model.name, "trainable": model.trainable,
              "dtype": dtype_policies.serialize(model.dtype_policy), "layers": layers}
    if model._build_input_shape is not None:
        config["build_input_shape"] = list(model._build_input_shape)
    return config


def sequential_from_config(cls, config, custom_objects=None):
    from kiln.saving import legacy_config
    from kiln.saving.serialization import deserialize_keras_object

    if isinstance(config, list):  # Keras 2: a bare list of layers
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise DeserializationError("A Sequential config needs a `layers` list.")
    model = cls(name=config.get("name"), trainable=config.get("trainable", True))
    for i, entry in enumerate(config["layers"]):
        if not isinstance(entry, dict):
            raise DeserializationError(f"At config.layers[{i}]: a layer entry must be a dict.")
        if "module" not in entry:
            entry = legacy_config.convert_layer_entry(entry)
        layer = deserialize_keras_object(entry, custom_objects=custom_objects)
        model.add(layer, rebuild=False)
    model._maybe_rebuild()
    shape = config.get("build_input_shape")
    if not model.built and shape:
        model.build(tuple(shape))
    return model
