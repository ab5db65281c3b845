"""Symbolic tensors: what `kiln.Input` returns and what layers return when called on one."""

from kiln.core import dtypes


class KerasTensor:
    """A placeholder with a shape and a dtype, and the layer call that produced it.

    `shape` is a tuple whose unknown dimensions (usually the batch) are None.
    `_keras_history` is `(operation, node_index, tensor_index)`.
    """

    def __init__(self, shape, dtype="float32", name=None, sparse=False, record_history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtypes.standardize(dtype) or "float32"
        self.name = name
        self.sparse = sparse
        self._keras_history = record_history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value. Python control flow on symbolic "
            "inputs is not possible; use a subclassed model's call() for data-dependent logic."
        )

    def __len__(self):
        raise TypeError("A symbolic KerasTensor has no length; use `tensor.shape`.")

    def __iter__(self):
        raise TypeError("A symbolic KerasTensor cannot be iterated.")

    # Arithmetic on symbolic tensors builds graph operations (kiln.layers.ops_layers).
    def _op(self, name, other=None, reverse=False):
        from kiln.layers.core.tensor_ops import symbolic_op

        return symbolic_op(name, self, other, reverse)

    def __add__(self, o):
        return self._op("add", o)

    def __radd__(self, o):
        return self._op("add", o, True)

    def __sub__(self, o):
        return self._op("subtract", o)

    def __rsub__(self, o):
        return self._op("subtract", o, True)

    def __mul__(self, o):
        return self._op("multiply", o)

    def __rmul__(self, o):
        return self._op("multiply", o, True)

    def __truediv__(self, o):
        return self._op("divide", o)

    def __rtruediv__(self, o):
        return self._op("divide", o, True)

    def __matmul__(self, o):
        return self._op("matmul", o)

    def __neg__(self):
        return self._op("negative")

    def __pow__(self, o):
        return self._op("power", o)

    def __getitem__(self, key):
        return self._op("get_item", key)


def is_keras_tensor(x):
    return isinstance(x, KerasTensor)
