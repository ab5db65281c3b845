"""Matching targets, predictions and sample weights output by output.

A model's prediction is one tensor, a list/tuple of tensors, or a dict of tensors. The
compiled loss and metrics work on a flat list of outputs with one name each (the output
layers' names for functional models, as in Keras 3, or the dict keys).
"""

import torch


def model_output_names(model):
    """Names of the model's outputs (output layer names), or None if not known yet."""
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return None
    try:
        return [t._keras_history[0].name for t in outputs]
    except (AttributeError, TypeError, IndexError):
        return None


def is_nested(x):
    return isinstance(x, (list, tuple, dict))


def flatten_outputs(y_pred, output_names):
    """`(flat_predictions, names)` with one name per output (None for a single output)."""
    if isinstance(y_pred, dict):
        keys = list(y_pred)
        if output_names and set(output_names) == set(keys):
            keys = list(output_names)
        return [y_pred[k] for k in keys], keys
    if isinstance(y_pred, (list, tuple)):
        flat = list(y_pred)
        if output_names and len(output_names) == len(flat):
            return flat, list(output_names)
        return flat, [f"output_{i + 1}" for i in range(len(flat))]
    name = output_names[0] if output_names and len(output_names) == 1 else None
    return [y_pred], [name]


def align(values, names, what):
    """Lines `values` (targets or sample weights) up with the flat outputs `names`."""
    n = len(names)
    if values is None:
        return [None] * n
    if isinstance(values, dict):
        missing = [k for k in names if k not in values]
        unknown = [k for k in values if k not in names]
        if n == 1 and len(values) == 1 and (missing or unknown):
            return list(values.values())
        if unknown:
            raise ValueError(
                f"The {what} dict has keys {unknown} that are not outputs of the model. "
                f"Expected keys among the output names {names}. Received keys: {list(values)}"
            )
        return [values.get(k) for k in names]
    if isinstance(values, (list, tuple)):
        if len(values) == n:
            return list(values)
        if n == 1 and len(values) != 1:
            # A list of numbers as a single target array.
            return [values]
        raise ValueError(
            f"The model has {n} outputs {names}, but {len(values)} {what} arrays were "
            f"given. Pass one {what} per output, as a list in output order or a dict keyed "
            "by output name."
        )
    if n != 1:
        if what == "sample_weight":
            return [values] * n
        raise ValueError(
            f"The model has {n} outputs {names}, but a single {what} array was given. Pass "
            f"a list with one {what} per output or a dict keyed by output name."
        )
    return [values]


def batch_size_of(structure):
    """The leading dimension of the first tensor in `structure`."""
    if isinstance(structure, torch.Tensor):
        return structure.shape[0] if structure.dim() else 1
    if isinstance(structure, dict):
        structure = list(structure.values())
    if isinstance(structure, (list, tuple)):
        for item in structure:
            size = batch_size_of(item)
            if size is not None:
                return size
        return None
    shape = getattr(structure, "shape", None)
    return shape[0] if shape else None
