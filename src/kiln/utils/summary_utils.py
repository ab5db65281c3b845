"""`model.summary()`: a table of layers, output shapes and parameter counts."""

import numpy as np

from kiln.core import dtypes


def _count(variables):
    return int(sum(int(np.prod(v.shape)) for v in variables))


def _bytes(variables):
    total = 0
    for v in variables:
        itemsize = np.dtype(v.dtype if v.dtype != "bfloat16" else "float16").itemsize
        total += int(np.prod(v.shape)) * itemsize
    return total


def readable_size(num_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} GB"


def _shape_text(layer):
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return "?"
    shapes = [t.shape for t in nodes[-1].outputs] if not getattr(nodes[0], "is_input", False) \
        else [t.shape for t in nodes[0].outputs]
    if len(shapes) == 1:
        return str(shapes[0])
    return str(shapes)


def _connections(layer, model):
    from kiln.models.functional import Functional

    if not isinstance(model, Functional):
        return None
    out = []
    for node in layer._inbound_nodes:
        if id(node) not in model._network_nodes:
            continue
        for t in node.input_tensors:
            op, node_index, tensor_index = t._keras_history
            out.append(f"{op.name}[{node_index}][{tensor_index}]")
    return ", ".join(out) if out else "-"


def _sequential_like(model):
    """True when every layer has one call in the model, fed by the layer before it."""
    previous = None
    for layer in model.layers:
        nodes = [n for n in layer._inbound_nodes if id(n) in model._network_nodes]
        if len(nodes) != 1:
            return False
        node = nodes[0]
        if not node.is_input:
            if len(node.input_tensors) != 1 or node.input_tensors[0]._keras_history[0] is not previous:
                return False
        elif previous is not None:
            return False
        previous = layer
    return True


def _table(headers, rows, widths, aligns):
    def line(l, m, r, fill):
        return l + m.join(fill * (w + 2) for w in widths) + r

    def row(cells, bar):
        parts = []
        for cell, w, a in zip(cells, widths, aligns):
            cell = str(cell)
            if len(cell) > w:
                cell = cell[: w - 1] + "…"
            parts.append(" " + (cell.rjust(w) if a == "r" else cell.ljust(w)) + " ")
        return bar + bar.join(parts) + bar

    lines = [line("┏", "┳", "┓", "━"), row(headers, "┃"), line("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        lines.append(row(r, "│"))
        if i != len(rows) - 1:
            lines.append(line("├", "┼", "┤", "─"))
    lines.append(line("└", "┴", "┘", "─"))
    return lines


def print_summary(model, line_length=None, print_fn=None, expand_nested=False,
                  show_trainable=False):
    """Prints (or passes to `print_fn`) the summary of `model`."""
    print_fn = print_fn or print
    from kiln.models.sequential import Sequential

    layers = model.layers
    functional = _connections(layers[0], model) is not None if layers else False
    if functional and _sequential_like(model):
        functional = False
    headers = ["Layer (type)", "Output Shape", "Param #"]
    aligns = ["l", "l", "r"]
    if functional:
        headers.append("Connected to")
        aligns.append("l")
    rows = []
    for layer in layers:
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        r = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), params]
        if functional:
            r.append(_connections(layer, model))
        rows.append(r)
    if line_length:
        widths = [max(10, line_length // len(headers) - 3)] * len(headers)
    else:
        widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
        widths = [min(max(w, m), 40) for w, m in zip(widths, [31, 22, 13, 26][: len(headers)])]
    kind = "Functional" if functional else ("Sequential" if isinstance(model, Sequential) else "")
    lines = [f'Model: "{model.name}"' + (f" ({kind})" if False else "")]
    lines += _table(headers, rows, widths, aligns)
    weights = model.weights if model.built else []
    trainable = model.trainable_weights if model.built else []
    non_trainable = model.non_trainable_weights if model.built else []
    total = _count(weights)
    lines.append(f" Total params: {total:,} ({readable_size(_bytes(weights))})")
    lines.append(f" Trainable params: {_count(trainable):,} ({readable_size(_bytes(trainable))})")
    lines.append(
        f" Non-trainable params: {_count(non_trainable):,} ({readable_size(_bytes(non_trainable))})"
    )
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        ovars = optimizer.variables
        lines.append(f" Optimizer params: {_count(ovars):,} ({readable_size(_bytes(ovars))})")
    for text in lines:
        print_fn(text)
