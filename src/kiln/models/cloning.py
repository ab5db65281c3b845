"""`clone_model`: a new model with the same architecture and freshly initialized weights."""

from kiln.core.keras_tensor import KerasTensor
from kiln.layers.core.input_layer import Input, InputLayer
from kiln.layers.node import flatten


def _default_clone(layer):
    return layer.__class__.from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """Clones a Sequential, functional or subclassed model (new weights, no compile state).

    Example:
        >>> new_model = kiln.models.clone_model(model)
    """
    from kiln.models.functional import Functional
    from kiln.models.sequential import Sequential

    if kwargs:
        raise ValueError(f"Unexpected keyword arguments for clone_model: {sorted(kwargs)}")
    user_clone = clone_function
    clone_function = clone_function or _default_clone
    if recursive and user_clone is None:
        def clone_function(layer):
            if isinstance(layer, (Sequential, Functional)):
                return clone_model(layer, recursive=True)
            return _default_clone(layer)
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_function)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_function, call_function)
    if input_tensors is not None or user_clone is not None or call_function is not None:
        raise ValueError(
            f"Model '{model.name}' is a subclassed model; clone_model can only rebuild it from "
            "its config, so `input_tensors`, `clone_function` and `call_function` do not apply."
        )
    from kiln.saving.serialization import deserialize_keras_object, serialize_keras_object

    config = serialize_keras_object(model)
    config.pop("compile_config", None)
    return deserialize_keras_object(config)


def _clone_sequential(model, input_tensors, clone_function):
    from kiln.models.sequential import Sequential

    layers = [clone_function(layer) for layer in model.layers]
    if input_tensors is not None:
        tensor = flatten(input_tensors)[0]
        return Sequential([tensor._keras_history[0]] + layers, name=model.name)
    if model._input_layer is not None:
        src = model._input_layer
        layers = [InputLayer(batch_shape=src.batch_shape, dtype=src.dtype, name=src.name)] + layers
    return Sequential(layers, name=model.name)


def _clone_functional(model, input_tensors, clone_function, call_function):
    from kiln.models.functional import Functional

    mapping = {}
    if input_tensors is not None:
        new_inputs = flatten(input_tensors)
        if len(new_inputs) != len(model.inputs):
            raise ValueError(
                f"Model '{model.name}' has {len(model.inputs)} inputs, but {len(new_inputs)} "
                "input_tensors were given."
            )
    else:
        new_inputs = []
        for t in model.inputs:
            layer = t._keras_history[0]
            new_inputs.append(Input(batch_shape=t.shape, dtype=t.dtype, name=layer.name))
    for old, new in zip(model.inputs, new_inputs):
        mapping[id(old)] = new
    clones = {}
    for op, _simple, args, kwargs, _out_ids, out_struct in model._plan:
        if call_function is None and id(op) not in clones:
            clones[id(op)] = clone_function(op)
        new_args = _fill(args, mapping)
        new_kwargs = _fill(kwargs, mapping)
        if call_function is not None:
            result = call_function(op, *new_args, **new_kwargs)
        else:
            result = clones[id(op)](*new_args, **new_kwargs)
        for old, new in zip(flatten(out_struct), flatten(result)):
            if isinstance(old, KerasTensor):
                mapping[id(old)] = new
    outputs = _fill(model._outputs_struct, mapping)
    inputs = _rebuild(model._inputs_struct, model.inputs, new_inputs)
    return Functional(inputs, outputs, name=model.name)


def _fill(structure, mapping):
    if isinstance(structure, KerasTensor):
        return mapping[id(structure)]
    if isinstance(structure, (list, tuple)):
        return type(structure)(_fill(s, mapping) for s in structure)
    if isinstance(structure, dict):
        return {k: _fill(v, mapping) for k, v in structure.items()}
    return structure


def _rebuild(structure, old_flat, new_flat):
    mapping = {id(o): n for o, n in zip(old_flat, new_flat)}
    return _fill(structure, mapping)
