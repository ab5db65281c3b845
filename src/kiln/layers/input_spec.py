"""`InputSpec`: the rank, dtype and axis sizes a layer accepts, and the check of an input."""

from kiln.core import dtypes


class InputSpec:
    """Describes what a layer (or an export signature) accepts.

    Example:
        >>> kiln.InputSpec(shape=(None, 4), dtype="float32")
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtypes.standardize(dtype) if dtype is not None else None
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.axes = {int(k): v for k, v in (axes or {}).items()}

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                 ("ndim", self.ndim), ("min_ndim", self.min_ndim), ("axes", self.axes or None),
                 ("name", self.name)) if v is not None]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Where:
    """`Input <index> of layer '<name>'`, formatted only when an error needs it."""

    def __init__(self, index, layer_name):
        self.index, self.layer_name = index, layer_name

    def __format__(self, spec):
        return f"Input {self.index} of layer '{self.layer_name}'"


def check_input(spec, shape, layer_name, index=0):
    """Raises a ValueError naming the layer when `shape` does not satisfy `spec`."""
    if spec is None or shape is None:
        return
    ndim = len(shape)
    where = _Where(index, layer_name)
    if spec.ndim is not None and ndim != spec.ndim:
        raise ValueError(
            f"{where} is incompatible with the layer: expected ndim={spec.ndim}, "
            f"found ndim={ndim}. Full shape received: {tuple(shape)}"
        )
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        raise ValueError(
            f"{where} is incompatible with the layer: expected min_ndim={spec.min_ndim}, "
            f"found ndim={ndim}. Full shape received: {tuple(shape)}"
        )
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        raise ValueError(
            f"{where} is incompatible with the layer: expected max_ndim={spec.max_ndim}, "
            f"found ndim={ndim}. Full shape received: {tuple(shape)}"
        )
    for axis, size in spec.axes.items():
        if size is None or -ndim > axis or axis >= ndim:
            continue
        if shape[axis] is not None and shape[axis] != size:
            raise ValueError(
                f"{where} is incompatible with the layer: expected axis {axis} of the input "
                f"to have value {size}, but received input with shape {tuple(shape)}. "
                "Check the model's input shape or the previous layer's output size."
            )
    if spec.shape is not None:
        for expected, got in zip(spec.shape, shape):
            if expected is not None and got is not None and expected != got:
                raise ValueError(
                    f"{where} is incompatible with the layer: expected shape={spec.shape}, "
                    f"found shape={tuple(shape)}"
                )
