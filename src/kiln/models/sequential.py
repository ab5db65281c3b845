"""`kiln.Sequential`: a plain stack of layers, each with one input and one output."""

from kiln.core.keras_tensor import KerasTensor
from kiln.layers.core.input_layer import InputLayer
from kiln.layers.layer import Layer
from kiln.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    Example:
        >>> model = kiln.Sequential([kiln.Input(shape=(4,)), kiln.layers.Dense(2)])
        >>> model.add(kiln.layers.Dense(1))
    """

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        object.__setattr__(self, "_stack", [])
        object.__setattr__(self, "_input_layer", None)
        self._build_input_shape = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Appends a layer (or a `kiln.Input` tensor) to the stack."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `kiln.layers.Layer` can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError(
                    f"Sequential model '{self.name}' already has layers; an InputLayer can "
                    "only be the first element."
                )
            object.__setattr__(self, "_input_layer", layer)
            self._track_layer(layer)
            self._modules[layer.name.replace(".", "_")] = layer
            return
        names = {l.name for l in self._stack}
        if layer.name in names:
            raise ValueError(
                f"All layers added to Sequential model '{self.name}' should have unique "
                f"names. Name {layer.name!r} is already the name of a layer in this model. "
                "Give it a different `name=`."
            )
        if self._input_layer is None and not self._stack:
            shape, dtype = layer._batch_input_shape, None
            inputs = getattr(layer, "inputs", None) if isinstance(layer, Model) else None
            if shape is None and inputs and len(inputs) == 1:
                # A functional model as first layer fixes the input shape, as in Keras.
                shape, dtype = inputs[0].shape, inputs[0].dtype
            if shape is not None:
                object.__setattr__(self, "_input_layer", InputLayer(batch_shape=shape,
                                                                    dtype=dtype))
                self._track_layer(self._input_layer)
        self._stack.append(layer)
        self._track_layer(layer)
        self._modules[layer.name.replace(".", "_")] = layer
        self.built = False
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        """Removes and returns the last layer."""
        if not self._stack:
            raise TypeError(f"There are no layers in Sequential model '{self.name}' to pop.")
        layer = self._stack.pop()
        self._untrack_layer(layer)
        self._modules.pop(layer.name.replace(".", "_"), None)
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        if self._input_layer is not None and self._stack:
            self.build(self._input_layer.batch_shape)
        elif self._input_layer is not None:
            self._build_input_shape = self._input_layer.batch_shape

    def build(self, input_shape=None):
        if input_shape is None:
            raise ValueError(f"Sequential model '{self.name}' needs an input shape to build.")
        input_shape = tuple(input_shape)
        if self._input_layer is None:
            dtype = self._stack[0].compute_dtype if self._stack else "float32"
            layer = InputLayer(batch_shape=(None,) + input_shape[1:], dtype=dtype)
            object.__setattr__(self, "_input_layer", layer)
            self._track_layer(layer, position=0)
        x = self._input_layer.output_tensor
        for layer in self._stack:
            x = layer(x)
        self._outputs_tensor = x
        self._build_input_shape = self._input_layer.batch_shape
        self._build_shapes_dict = {"input_shape": self._build_input_shape}
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    @property
    def layers(self):
        return list(self._stack)

    @property
    def inputs(self):
        return [self._input_layer.output_tensor] if self._input_layer is not None else None

    @property
    def outputs(self):
        out = getattr(self, "_outputs_tensor", None)
        return [out] if out is not None else None

    @property
    def input(self):
        return self._input_layer.output_tensor if self._input_layer is not None else None

    @property
    def output(self):
        return getattr(self, "_outputs_tensor", None)

    @property
    def input_shape(self):
        return self._build_input_shape

    @property
    def output_shape(self):
        out = getattr(self, "_outputs_tensor", None)
        return out.shape if out is not None else None

    def get_config(self):
        from kiln.models import functional_config

        return functional_config.sequential_get_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from kiln.models import functional_config

        return functional_config.sequential_from_config(cls, config, custom_objects)
