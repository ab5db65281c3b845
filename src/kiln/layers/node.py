"""`Node`: one call of a layer on symbolic tensors, the edge list of a functional graph."""

from kiln.core.keras_tensor import KerasTensor


def flatten(structure):
    """Leaves of a nested list/tuple/dict structure, dicts in insertion order."""
    out, stack = [], [structure]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        elif isinstance(x, dict):
            stack.extend(reversed(list(x.values())))
        else:
            out.append(x)
    return out


class Node:
    """Records `operation(*call_args, **call_kwargs) -> outputs` on KerasTensors.

    Creating a node appends it to `operation._inbound_nodes` and stamps each output with
    `_keras_history = (operation, node_index, tensor_index)`.
    """

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.arguments_args = tuple(call_args)
        self.arguments_kwargs = dict(call_kwargs or {})
        self.output_structure = outputs
        self.outputs = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]
        self.input_tensors = [
            t for t in flatten([list(self.arguments_args), self.arguments_kwargs])
            if isinstance(t, KerasTensor)
        ]
        self.is_input = not self.input_tensors
        index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for i, t in enumerate(self.outputs):
            t._keras_history = (operation, index, i)

    @property
    def input_structure(self):
        if self.is_input:
            return self.output_structure
        if len(self.arguments_args) == 1 and not self.arguments_kwargs:
            return self.arguments_args[0]
        return list(self.arguments_args)

    @property
    def parent_nodes(self):
        parents = []
        for t in self.input_tensors:
            op, index, _ = t._keras_history
            parents.append(op._inbound_nodes[index])
        return parents

    def __repr__(self):
        return f"<Node {self.operation.name} #{self.operation._inbound_nodes.index(self)}>"
