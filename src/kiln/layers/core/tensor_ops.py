"""Graph operations created by arithmetic on symbolic tensors (`x + y`, `x[:, :2]`, `-x`).

They are written to configs as Keras writes them (`"module": "keras.src.ops.numpy"`,
`"class_name": "Add"`, `"registered_name": "Add"`), appear in a functional model's graph,
and are not listed in `model.layers` (they own no weights).
"""

import torch

from kiln.layers.layer import Layer

_MODULE = "keras.src.ops.numpy"


class TensorOp(Layer):
    """Base of graph operations: a function of tensors with only a name as config."""

    _is_operation = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._keras_envelope = (_MODULE, cls.__name__, cls.__name__)

    def __init__(self, name=None, **kwargs):
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self.built = True

    def get_config(self):
        return {"name": self.name}

    def get_build_config(self):
        return None

    def call(self, *args):
        raise NotImplementedError


def _binary(fn):
    def call(self, x1, x2):
        return fn(x1, x2)
    return call


class Add(TensorOp):
    call = _binary(torch.add)


class Subtract(TensorOp):
    call = _binary(torch.subtract)


class Multiply(TensorOp):
    call = _binary(torch.multiply)


class TrueDivide(TensorOp):
    call = _binary(torch.true_divide)


class Power(TensorOp):
    call = _binary(torch.pow)


class Matmul(TensorOp):
    call = _binary(torch.matmul)


class Negative(TensorOp):
    def call(self, x):
        return torch.negative(x)


class GetItem(TensorOp):
    def call(self, x, key):
        if isinstance(key, list):
            key = tuple(key)
        return x[key]


_BY_NAME = {"add": Add, "subtract": Subtract, "multiply": Multiply, "divide": TrueDivide,
            "power": Power, "matmul": Matmul, "negative": Negative, "get_item": GetItem}

ALL_OBJECTS = {cls.__name__: cls for cls in _BY_NAME.values()}


def symbolic_op(name, tensor, other=None, reverse=False):
    """Applies the graph operation `name` to a KerasTensor (and `other`)."""
    op = _BY_NAME[name]()
    if name == "negative":
        return op(tensor)
    if name == "get_item":
        key = list(other) if isinstance(other, tuple) else other
        return op(tensor, key)
    return op(other, tensor) if reverse else op(tensor, other)
