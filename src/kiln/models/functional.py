"""Functional models: a graph of layer calls from `kiln.Input` tensors to outputs."""

import collections

import torch

from kiln.core import dtypes
from kiln.core.keras_tensor import KerasTensor
from kiln.core.tensor import to_tensor
from kiln.layers.core.input_layer import InputLayer
from kiln.layers.layer import Layer
from kiln.layers.node import flatten
from kiln.models.model import Model


def map_graph(inputs, outputs):
    """Orders the graph between `inputs` and `outputs` the way Keras 3 does.

    Returns `(operations, nodes_by_depth)`. Operations are sorted by depth (distance
    from the outputs) descending, ties broken by first visit in a pre-order walk from
    the outputs. This order is part of the file format: weight paths are derived from it.
    """
    input_ids = {id(t) for t in inputs}
    op_index = {}
    finished, ordered = set(), []
    for output in outputs:
        _walk(output, input_ids, op_index, finished, ordered)
    node_depth, op_depth = {}, {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), op_depth.get(node.operation, 0))
        op_depth[node.operation] = depth
        node_depth[node] = depth
        if node.is_input or any(id(t) in input_ids for t in node.outputs):
            continue
        for parent in node.parent_nodes:
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in inputs:
        op = t._keras_history[0]
        if op not in op_depth:
            op_depth[op] = 0
            op_index[op] = -1
            node_depth[op._inbound_nodes[t._keras_history[1]]] = 0
    by_depth = collections.defaultdict(list)
    for op, depth in op_depth.items():
        by_depth[depth].append(op)
    operations = []
    for depth in sorted(by_depth, reverse=True):
        operations.extend(sorted(by_depth[depth], key=lambda op: op_index[op]))
    nodes_by_depth = collections.defaultdict(list)
    for node, depth in node_depth.items():
        nodes_by_depth[depth].append(node)
    return operations, nodes_by_depth


def _walk(tensor, input_ids, op_index, finished, ordered):
    """Iterative DFS: pre-order operation indices, post-order node list."""
    in_progress = set()
    stack = [(tensor, False)]
    while stack:
        t, expanded = stack.pop()
        op, node_index, _ = t._keras_history
        node = op._inbound_nodes[node_index]
        if expanded:
            in_progress.discard(node)
            if node not in finished:
                finished.add(node)
                ordered.append(node)
            continue
        if node in finished:
            continue
        if node in in_progress:
            raise ValueError(f"The graph has a cycle through layer '{op.name}'.")
        if op not in op_index:
            op_index[op] = len(op_index)
        in_progress.add(node)
        stack.append((t, True))
        if not node.is_input and id(t) not in input_ids:
            for parent in reversed(node.input_tensors):
                stack.append((parent, False))


def _check_tensors(structure, what):
    leaves = flatten(structure)
    for leaf in leaves:
        if not isinstance(leaf, KerasTensor) or leaf._keras_history is None:
            raise ValueError(
                f"All {what} of a functional model must be symbolic tensors from "
                f"`kiln.Input` or from calling layers on them. Received: {leaf!r}"
            )
    return leaves


class Functional(Model):
    """A model defined by `kiln.Model(inputs, outputs)`."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        if isinstance(inputs, dict) and all(isinstance(k, str) for k in inputs):
            pass
        elif isinstance(inputs, tuple):
            inputs = list(inputs)
        flat_inputs = _check_tensors(inputs, "inputs")
        flat_outputs = _check_tensors(outputs, "outputs")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flat_inputs
        self.outputs = flat_outputs
        operations, nodes_by_depth = map_graph(flat_inputs, flat_outputs)
        self._check_connected(flat_inputs, operations, nodes_by_depth)
        names = collections.Counter(op.name for op in operations)
        duplicates = sorted(n for n, c in names.items() if c > 1)
        if duplicates:
            raise ValueError(
                f"The name {duplicates[0]!r} is used {names[duplicates[0]]} times in model "
                f"'{self.name}'. All layer names should be unique; rename the layers "
                f"(duplicates: {duplicates})."
            )
        self._operations = operations
        self._nodes_by_depth = nodes_by_depth
        self._network_nodes = {id(n) for ns in nodes_by_depth.values() for n in ns}
        for op in operations:
            self._track_layer(op)
            self._modules[op.name.replace(".", "_")] = op
        self._plan = self._make_plan()
        self.built = True
        self._build_shapes_dict = None

    def _check_connected(self, inputs, operations, nodes_by_depth):
        available = {id(t) for t in inputs}
        for depth in sorted(nodes_by_depth, reverse=True):
            for node in nodes_by_depth[depth]:
                if node.is_input:
                    if not any(id(t) in available for t in node.outputs):
                        raise ValueError(
                            f"Graph disconnected: model '{self.name}' needs input layer "
                            f"'{node.operation.name}', which is not among the model's inputs "
                            f"{[t.name for t in inputs]}. Pass it in `inputs=`."
                        )
                    continue
                for t in node.input_tensors:
                    if id(t) not in available:
                        raise ValueError(
                            f"Graph disconnected: cannot obtain the value for tensor {t!r} at "
                            f"layer '{node.operation.name}'. It is not reachable from the "
                            f"inputs {[x.name for x in inputs]}; add its Input to `inputs=`."
                        )
                available.update(id(t) for t in node.outputs)

    def _make_plan(self):
        plan = []
        input_ids = {id(t) for t in self.inputs}
        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                if node.is_input or all(id(t) in input_ids for t in node.outputs):
                    continue
                args, kwargs = node.arguments_args, node.arguments_kwargs
                simple = (len(args) == 1 and not kwargs and isinstance(args[0], KerasTensor))
                plan.append((node.operation, simple, args, kwargs,
                             [id(t) for t in node.outputs], node.output_structure))
        return plan

    @property
    def layers(self):
        return [op for op in self._operations
                if isinstance(op, Layer) and not getattr(op, "_is_operation", False)]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    def _flatten_call_inputs(self, inputs):
        struct = self._inputs_struct
        if isinstance(inputs, dict) and not isinstance(struct, dict):
            names = [t._keras_history[0].name for t in self.inputs]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expects inputs {names}; the dict given lacks {missing}."
                )
            return [inputs[n] for n in names]
        if isinstance(struct, dict):
            if not isinstance(inputs, dict):
                raise ValueError(
                    f"Model '{self.name}' expects a dict of inputs with keys {list(struct)}; "
                    f"received {type(inputs).__name__}."
                )
            return [inputs[k] for k in struct] if set(struct) == set(inputs) else flatten(
                {k: inputs[k] for k in struct})
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(
                f"Model '{self.name}' expects {len(self.inputs)} input(s), but it received "
                f"{len(flat)} input tensors. Inputs received: {[_describe(x) for x in flat]}"
            )
        return flat

    def call(self, inputs, training=None, mask=None):
        flat = self._flatten_call_inputs(inputs)
        values = {}
        for t, x in zip(self.inputs, flat):
            x = to_tensor(x)
            if isinstance(x, torch.Tensor):
                if x.is_floating_point() and dtypes.is_float(t.dtype):
                    target = dtypes.to_torch(t.dtype)
                    if x.dtype != target:
                        x = x.to(target)
                _check_input_shape(self, t, x)
            values[id(t)] = x
        for op, simple, args, kwargs, out_ids, out_struct in self._plan:
            if simple:
                result = op(values[id(args[0])])
            else:
                result = op(*_fill(args, values), **_fill(kwargs, values))
            if len(out_ids) == 1:
                values[out_ids[0]] = result if not isinstance(result, (list, tuple, dict)) \
                    else flatten(result)[0]
            else:
                for i, v in zip(out_ids, flatten(result)):
                    values[i] = v
        outputs = _fill(self._outputs_struct, values)
        # Like Keras (`unpack_singleton`): `outputs=[y]` returns y itself.
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            return outputs[0]
        return outputs

    def get_build_config(self):
        return {"input_shape": None}  # Keras writes this; the graph already fixes shapes

    def build_from_config(self, config):
        return None

    def get_config(self):
        from kiln.models import functional_config

        return functional_config.get_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from kiln.models import functional_config

        return functional_config.from_config(cls, config, custom_objects)


def _fill(structure, values):
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, (list, tuple)):
        return type(structure)(_fill(s, values) for s in structure)
    if isinstance(structure, dict):
        return {k: _fill(v, values) for k, v in structure.items()}
    return structure


def _describe(x):
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__}{tuple(shape) if shape is not None else ''}"


def _check_input_shape(model, spec, x):
    shape = tuple(x.shape)
    expected = spec.shape
    if len(shape) != len(expected) or any(
        e is not None and e != s for e, s in zip(expected, shape)
    ):
        raise ValueError(
            f"Input '{spec.name}' of model '{model.name}' is incompatible: expected shape "
            f"{expected}, but received input with shape {shape}."
        )


def is_input_layer(op):
    return isinstance(op, InputLayer)
