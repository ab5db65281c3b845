"""Eager outputs and input conversion.

Layers return `EagerTensor`s from their outermost eager call: plain torch tensors in every
respect (autograd keeps working) except that `numpy()` and `__array__` detach first, so
`np.asarray(model(x))` and `np.testing.assert_allclose(model(x), ...)` work even while
autograd tracks the tensor, as they do in Keras.
"""

import numpy as np
import torch

from kiln.core import dtypes


class EagerTensor(torch.Tensor):
    # Ops on an EagerTensor return plain tensors: no subclass overhead downstream.
    __torch_function__ = torch._C._disabled_torch_function_impl

    def numpy(self, *, force=False):
        return torch.Tensor.numpy(self.detach().cpu(), force=force)

    def __array__(self, dtype=None, copy=None):
        a = torch.Tensor.numpy(self.detach().cpu())
        return a.astype(dtype, copy=False) if dtype is not None else a


def wrap_outputs(outputs):
    if type(outputs) is torch.Tensor:
        return outputs.as_subclass(EagerTensor)
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(wrap_outputs(o) for o in outputs)
    if isinstance(outputs, dict):
        return {k: wrap_outputs(v) for k, v in outputs.items()}
    return outputs


def to_tensor(x, dtype=None):
    """Converts array-likes to torch tensors; numpy float64 becomes float32 unless `dtype`."""
    if isinstance(x, torch.Tensor):
        if dtype is not None:
            td = dtypes.to_torch(dtype)
            if x.dtype != td:
                return x.to(td)
        return x
    if hasattr(x, "value") and hasattr(x, "assign"):  # a kiln Variable
        return x.value
    if isinstance(x, np.ndarray) or isinstance(x, (list, tuple, float, int, bool, np.generic)):
        arr = np.asarray(x)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        t = torch.from_numpy(np.ascontiguousarray(arr)) if arr.dtype != object else torch.as_tensor(x)
        if dtype is not None:
            t = t.to(dtypes.to_torch(dtype))
        return t
    return x
