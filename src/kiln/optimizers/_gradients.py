"""Gradient preparation shared by every optimizer: conversion, clipping, slot values.

All functions take and return lists of torch tensors and never touch variables. They
run under `torch.no_grad()` in the caller and use multi-tensor (`torch._foreach_*`)
kernels, which launch one kernel for a whole list instead of one per tensor.
"""

import warnings

import numpy as np
import torch

from kiln.core.variable import Variable


def as_gradient(grad, variable):
    """Returns `grad` as a detached torch tensor with `variable`'s dtype and shape."""
    if isinstance(grad, Variable):
        grad = grad.value
    if not isinstance(grad, torch.Tensor):
        grad = torch.as_tensor(np.asarray(grad))
    grad = grad.detach()
    value = variable.value
    if grad.dtype != value.dtype or grad.device != value.device:
        grad = grad.to(device=value.device, dtype=value.dtype)
    if tuple(grad.shape) != tuple(value.shape):
        raise ValueError(
            f"Gradient for variable '{variable.path}' has shape {tuple(grad.shape)}, "
            f"but the variable has shape {tuple(value.shape)}. Pass one gradient per "
            "variable, in the same order as the variables."
        )
    return grad


def clip_by_norm(grads, clipnorm):
    """Rescales each gradient separately so that its L2 norm is at most `clipnorm`."""
    if not grads:
        return grads
    norms = torch._foreach_norm(grads)
    # g * c / max(|g|, c): unchanged when |g| <= c, scaled down to norm c otherwise.
    scales = torch._foreach_div(torch._foreach_clamp_min(norms, clipnorm), clipnorm)
    return torch._foreach_div(grads, scales)


def global_norm(grads):
    """The L2 norm of all gradients taken together, as a 0-d float32 (or float64) tensor."""
    norms = torch._foreach_norm(grads)
    dtype = torch.float64 if all(n.dtype == torch.float64 for n in norms) else torch.float32
    return torch.linalg.vector_norm(torch.stack([n.to(dtype) for n in norms]))


def clip_by_global_norm(grads, clipnorm):
    """Scales all gradients by one factor so that their global norm is at most `clipnorm`.

    As in Keras, a non-finite global norm turns every gradient into NaN rather than
    silently applying an unscaled update.
    """
    if not grads:
        return grads
    norm = global_norm(grads)
    limit = torch.tensor(1.0 / clipnorm, dtype=norm.dtype, device=norm.device)
    scale = clipnorm * torch.minimum(1.0 / norm, limit) + (norm - norm)
    return torch._foreach_mul(grads, scale)


def clip_by_value(grads, clipvalue):
    """Clamps every gradient element into `[-clipvalue, clipvalue]`."""
    if not grads:
        return grads
    return torch._foreach_clamp_max(torch._foreach_clamp_min(grads, -clipvalue), clipvalue)


def drop_missing(optimizer_name, grads, variables):
    """Drops `None` gradients (with a warning naming their variables); returns both lists."""
    kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
    if not kept:
        raise ValueError(
            f"Optimizer '{optimizer_name}' received no gradients: every gradient was None. "
            "Check that the loss depends on the trainable variables."
        )
    if len(kept) != len(grads):
        missing = [v.path for g, v in zip(grads, variables) if g is None]
        warnings.warn(
            f"Gradients do not exist for variables {missing} when minimizing the loss. "
            "If using `model.compile()`, did you forget to provide a `loss` argument?",
            stacklevel=4,
        )
    return [g for g, _ in kept], [v for _, v in kept]



def overwrite_directly(grads, variables, accumulator_of, update_now):
    """Writes gradients into variables flagged `overwrite_with_gradient`; returns the rest.

    Such variables (float8 scales, for example) receive their new value as a "gradient".
    With gradient accumulation the element-wise maximum over the accumulated steps is
    kept and written at the step that completes the group; `accumulator_of(variable)`
    returns the accumulator slot, and is None without accumulation.
    """
    kept_grads, kept_vars = [], []
    for g, v in zip(grads, variables):
        if not getattr(v, "overwrite_with_gradient", False):
            kept_grads.append(g)
            kept_vars.append(v)
        elif accumulator_of is not None:
            acc = accumulator_of(v).value
            if update_now:
                v.value.copy_(torch.maximum(g, acc))
                acc.zero_()
            else:
                acc.copy_(torch.maximum(g, acc))
        else:
            v.value.copy_(g)
    return kept_grads, kept_vars
