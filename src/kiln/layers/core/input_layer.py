"""`InputLayer` and `kiln.Input`: the entry points of a functional graph."""

from kiln.core import dtypes
from kiln.core.keras_tensor import KerasTensor
from kiln.layers.layer import Layer
from kiln.layers.node import Node


class InputLayer(Layer):
    """The layer behind `kiln.Input`; holds the placeholder tensor of a model input."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=None, **kwargs):
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        super().__init__(name=name, **kwargs)
        if input_tensor is not None:
            batch_shape = input_tensor.shape
            dtype = input_tensor.dtype
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "InputLayer takes `shape` or `batch_shape`, not both. "
                f"Received: shape={shape}, batch_shape={batch_shape}"
            )
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    f"InputLayer '{self.name}' needs a `shape` (without the batch dimension) "
                    "or a `batch_shape`. Example: kiln.Input(shape=(784,))"
                )
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self._batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self._input_dtype = dtypes.standardize(dtype) or "float32"
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.optional = optional
        self.built = True
        tensor = input_tensor or KerasTensor(self._batch_shape, self._input_dtype, name=self.name)
        Node(self, (), {}, tensor)
        self.output_tensor = tensor

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def dtype(self):
        return self._input_dtype

    def call(self, inputs=None):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self._batch_shape), "dtype": self._input_dtype,
                "sparse": self.sparse, "ragged": self.ragged, "name": self.name,
                "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False, ragged=None):
    """A symbolic model input.

    Example:
        >>> inputs = kiln.Input(shape=(32,))
        >>> outputs = kiln.layers.Dense(1)(inputs)
        >>> model = kiln.Model(inputs, outputs)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, input_tensor=tensor,
                       optional=optional, ragged=ragged)
    return layer.output_tensor
