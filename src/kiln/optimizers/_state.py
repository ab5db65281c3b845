"""An optimizer's variables as arrays: initial slot values, weight files, `set_weights`.

Weight files store optimizer state by position only ("0", "1", ...), so these
functions rely on `optimizer.variables` having Keras's order.
"""

import numbers
import warnings

import numpy as np
import torch

from kiln.core import dtypes
from kiln.core.variable import Variable


def save_variables(optimizer, store):
    for i, variable in enumerate(optimizer.variables):
        store[str(i)] = variable.numpy()


def load_variables(optimizer, store):
    variables = optimizer.variables
    if len(store.keys()) != len(variables):
        # Keras warns and skips here rather than failing: a model compiled but never
        # trained has fewer optimizer variables than one that was saved after training.
        message = (
            f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
            f"{len(variables)} variables whereas the saved optimizer has "
            f"{len(store.keys())} variables. "
        )
        if not optimizer.built:
            message += "This is likely because the optimizer has not been called/built yet."
        warnings.warn(message, stacklevel=3)
        return
    for i, variable in enumerate(variables):
        variable.assign(np.asarray(store[str(i)]))


def set_weights(optimizer, weights):
    if not optimizer.built:
        raise ValueError(
            f"Optimizer '{optimizer.name}' has not been built, so it has no slots to set. "
            "Call `optimizer.build(trainable_variables)` first."
        )
    weights = list(weights)
    variables = optimizer.variables
    if len(weights) != len(variables):
        raise ValueError(
            f"Optimizer '{optimizer.name}' has {len(variables)} variables but received "
            f"{len(weights)} weights. Pass one array per entry of `optimizer.variables`."
        )
    problems = [
        f"  {v.path}: expected shape {v.shape}, received {tuple(np.shape(w))}"
        for v, w in zip(variables, weights) if tuple(v.shape) != tuple(np.shape(w))
    ]
    if problems:
        raise ValueError(
            f"Could not set the weights of optimizer '{optimizer.name}' "
            f"({len(problems)} problems):\n" + "\n".join(problems)
        )
    for variable, weight in zip(variables, weights):
        variable.assign(np.asarray(weight))


def initial_value(shape, initializer, dtype, device):
    """A new tensor for an optimizer slot: `"zeros"`, `"ones"`, a constant or a callable."""
    shape = tuple(int(d) for d in shape)
    torch_dtype = dtypes.to_torch(dtype or "float32")
    if isinstance(initializer, str) and initializer in ("zeros", "ones"):
        return torch.full(shape, 0.0 if initializer == "zeros" else 1.0,
                          dtype=torch_dtype, device=device)
    if isinstance(initializer, numbers.Number) and not isinstance(initializer, bool):
        return torch.full(shape, float(initializer), dtype=torch_dtype, device=device)
    if callable(initializer):
        value = initializer(shape, dtype=dtypes.standardize(torch_dtype))
        if isinstance(value, Variable):
            value = value.value
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(np.asarray(value))
        return value.detach().to(dtype=torch_dtype, device=device)
    raise ValueError(
        f"Unsupported initializer {initializer!r} for an optimizer variable. Use 'zeros', "
        "'ones', a number, or a callable fn(shape, dtype)."
    )
