"""`kiln.layers.Layer`: the base of every layer and model, and a `torch.nn.Module`.

What lives here: construction, variable creation (`add_weight`), tracking, and
`__call__`. Build and shape inference are in `layer_build.py`; config helpers are in
`layer_config.py`; the weight-order properties follow Keras 3 exactly because they are
part of the file format.
"""

import inspect

import numpy as np
import torch

from kiln import dtype_policies
from kiln.core import call_context
from kiln.core import keras_tensor
from kiln.core.tensor import to_tensor, wrap_outputs
from kiln.core.variable import Variable, empty_initializer, skipping_initialization
from kiln.layers import layer_build, tracking
from kiln.utils import naming

# Generic build hook: each callable here is called as `callback(layer)` whenever a layer
# becomes built (`layer.built = True`). kiln.checkpoint uses it to assign checkpoint values
# to variables that did not exist when a restore was requested.
BUILT_CALLBACKS = []

_BASE_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "input_dim", "weights",
                "activity_regularizer", "autocast"}


class Layer(torch.nn.Module):
    """Base class of all layers.

    Subclasses create variables in `build(input_shape)` (or `__init__`) with
    `add_weight`, and compute outputs in `call(inputs, ...)`.

    Example:
        >>> class Linear(kiln.layers.Layer):
        ...     def __init__(self, units=32, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units = units
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight(shape=(input_shape[-1], self.units))
        ...     def call(self, inputs):
        ...         return kiln.ops.matmul(inputs, self.w)
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        torch.nn.Module.__init__(obj)
        d = obj.__dict__
        d["_tracked_layers"] = []  # in tracking order
        d["_tracked_index"] = ({}, id(obj))  # ({id(layer): layer}, id of the owner); see below
        d["_trainable_variables"] = []
        d["_non_trainable_variables"] = []
        d["_variable_keys"] = {}
        d["_inbound_nodes"] = []
        d["_losses"] = []
        d["_build_shapes_dict"] = None
        d["built"] = False
        d["_trainable"] = True
        d["_name"] = None
        d["_dtype_policy"] = dtype_policies.get(None)
        d["input_spec"] = None
        d["_called"] = False
        # Constructor arguments, for layers that do not define get_config().
        d["_auto_config"] = _capture_init_args(cls, args, kwargs)
        return obj

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None,
                 autocast=True, name=None, **kwargs):
        unknown = set(kwargs) - _BASE_KWARGS
        if unknown:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{ {k: kwargs[k] for k in sorted(unknown)} }"
            )
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Layer names must be strings without '/'. Received: name={name!r}")
        self._name = name or naming.auto_name(naming.to_snake_case(type(self).__name__))
        self._dtype_policy = dtype_policies.get(dtype)
        self._trainable = bool(trainable)
        self.autocast = autocast
        self.activity_regularizer = None
        if activity_regularizer is not None:
            from kiln import regularizers

            self.activity_regularizer = regularizers.get(activity_regularizer)
        self.supports_masking = False
        shape = kwargs.get("input_shape")
        if shape is None and kwargs.get("input_dim") is not None:
            shape = (kwargs["input_dim"],)
        if shape is not None:
            shape = (kwargs.get("batch_size"),) + tuple(shape)
        elif kwargs.get("batch_input_shape") is not None:
            shape = tuple(kwargs["batch_input_shape"])
        self._batch_input_shape = shape
        self._initial_weights = kwargs.get("weights")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        layer_build.wrap_build(cls)
        params = inspect.signature(cls.call).parameters
        cls._call_has_training = "training" in params
        cls._call_has_mask = "mask" in params

    # -- attributes and tracking -------------------------------------------------
    # Bookkeeping attributes of kiln's own classes that hold layers but are not
    # ownership (a functional model's execution plan, Sequential's stack).
    _untracked_attrs = frozenset({"_operations", "_plan", "_stack", "_nodes_by_depth",
                                  "_input_layer", "_outputs_tensor", "_network_nodes"})

    def __setattr__(self, name, value):
        if name in self._untracked_attrs:
            object.__setattr__(self, name, value)
        elif isinstance(value, Variable):
            self._track_variable(value)
            self._forget_module(name)
            object.__setattr__(self, name, value)
        elif isinstance(value, Layer):
            self._track_layer(value)
            super().__setattr__(name, value)
        elif isinstance(value, (list, tuple, dict)) and tracking.contains_trackable(value):
            tracking.track_value(self, value)
            value = tracking.wrap_container(self, name, value)
            object.__setattr__(self, name, value)
        else:
            self._forget_module(name)
            d = self.__dict__
            if (not isinstance(value, (torch.Tensor, torch.nn.Module))
                    and name not in d["_parameters"] and name not in d["_buffers"]):
                object.__setattr__(self, name, value)  # what torch's __setattr__ ends in
            else:
                super().__setattr__(name, value)
            if name == "built" and value is True and BUILT_CALLBACKS:
                for callback in tuple(BUILT_CALLBACKS):
                    callback(self)

    def _forget_module(self, name):
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules:
            del modules[name]

    def __delattr__(self, name):
        was_module = name in self._modules
        value = self.__dict__.get(name, self._modules.get(name))
        if isinstance(value, Layer):
            self._untrack_layer(value)
        self._forget_module(name)
        if name in self.__dict__:
            object.__delattr__(self, name)
        elif not was_module:
            super().__delattr__(name)

    def _tracked_by_id(self):
        """`{id(layer): layer}` for the tracked layers: identity lookups without scanning
        the list (a 1,000-layer model spent 0.1 s doing that) and without hashing layers
        (a user's layer may define __eq__ and so be unhashable). Rebuilt after a copy or
        unpickling, where the layers, and so their ids, are new."""
        index, owner = self.__dict__["_tracked_index"]
        if owner != id(self):
            index = {id(layer): layer for layer in self._tracked_layers}
            self.__dict__["_tracked_index"] = (index, id(self))
        return index

    def _track_layer(self, layer, position=None):
        """Records `layer` as a sublayer (once), at the end or at index `position`."""
        index = self._tracked_by_id()
        if layer is self or index.get(id(layer)) is layer:
            return
        index[id(layer)] = layer
        if position is None:
            self._tracked_layers.append(layer)
        else:
            self._tracked_layers.insert(position, layer)

    def _untrack_layer(self, layer):
        index = self._tracked_by_id()
        if index.get(id(layer)) is layer:
            del index[id(layer)]
            layers = self._tracked_layers
            del layers[next(i for i, existing in enumerate(layers) if existing is layer)]

    def _track_variable(self, variable):
        if any(v is variable for v in self._variable_keys.values()):
            return
        if variable.trainable:
            self._trainable_variables.append(variable)
        else:
            self._non_trainable_variables.append(variable)
        key = variable.name.replace(".", "_")
        base, n = key, 1
        while key in self._parameters or key in self._buffers or key in self._modules:
            key, n = f"{base}_{n}", n + 1
        if variable.trainable:
            self._parameters[key] = variable._value
        else:
            self._buffers[key] = variable._value
        self._variable_keys[key] = variable

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        for key, variable in self._variable_keys.items():
            tensor = self._parameters.get(key)
            if tensor is None:
                tensor = self._buffers.get(key)
            if tensor is not None and tensor is not variable._value:
                if not isinstance(tensor, torch.nn.Parameter):
                    tensor = torch.nn.Parameter(tensor, requires_grad=False)
                    self._buffers[key] = tensor
                variable._value = tensor
        return result

    # -- identity ------------------------------------------------------------------
    @property
    def name(self):
        return self._name

    @property
    def path(self):
        return self._name

    @property
    def dtype_policy(self):
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._dtype_policy = dtype_policies.get(value)

    @property
    def dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._tracked_layers:
            layer.trainable = value

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    # -- variables ---------------------------------------------------------------
    def add_weight(self, *args, **kwargs):
        """Creates a variable owned by this layer.

        Keras 3's argument order is `(shape, initializer, dtype, trainable, autocast,
        regularizer, constraint, aggregation, overwrite_with_gradient, name)`; a string as
        the first argument is taken as the name, as tf.keras allowed
        (`self.add_weight("kernel", shape=(3, 4))`).
        """
        if args and isinstance(args[0], str):
            if "name" in kwargs:
                raise TypeError("add_weight() got the name both positionally and as name=.")
            kwargs["name"] = args[0]
            args = args[1:]
        return self._add_weight(*args, **kwargs)

    def _add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                    autocast=True, regularizer=None, constraint=None, aggregation="none",
                    overwrite_with_gradient=False, name=None):
        from kiln import constraints, initializers, regularizers

        dtype = dtype or self.variable_dtype
        shape = () if shape is None else tuple(shape)
        if initializer is None:
            from kiln.core import dtypes

            initializer = "glorot_uniform" if dtypes.is_float(dtype) else "zeros"
            if not shape:
                initializer = "zeros"
        initializer = initializers.get(initializer)
        if skipping_initialization():
            initializer = empty_initializer
        variable = Variable(initializer, shape=shape, dtype=dtype, trainable=trainable,
                            name=name or "variable", autocast=autocast,
                            aggregation=aggregation)
        scope = call_context.get().name_scope
        if not scope or scope[-1] != self.name:
            scope = scope + [self.name]
        variable.path = "/".join(scope + [variable.name])
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        variable.overwrite_with_gradient = overwrite_with_gradient
        self._track_variable(variable)
        return variable

    add_variable = add_weight

    def _own_variables(self):
        return self._trainable_variables + self._non_trainable_variables

    @property
    def weights(self):
        out, seen = [], set()
        for v in self._own_variables():
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._tracked_layers:
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [v for v in self.weights if v.trainable]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        targets = self.weights
        if len(weights) != len(targets):
            raise ValueError(
                f"Layer '{self.name}' expected {len(targets)} weights, but received "
                f"{len(weights)} weights. Expected shapes: {[v.shape for v in targets]}"
            )
        problems = []
        for v, w in zip(targets, weights):
            shape = tuple(np.shape(w))
            if shape != v.shape:
                problems.append(f"  {v.path}: expected shape {v.shape}, received {shape}")
        if problems:
            raise ValueError(
                f"Could not set weights of layer '{self.name}' ({len(problems)} problems):\n"
                + "\n".join(problems) + "\nNo weight was changed."
            )
        for v, w in zip(targets, weights):
            v.assign(w)

    def count_params(self):
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer "
                "isn't built. Build it first by calling it on data or with `layer.build(shape)`."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    # -- losses ------------------------------------------------------------------
    def add_loss(self, loss):
        from kiln.core.variable import in_symbolic_scope

        if in_symbolic_scope():
            return
        ctx = call_context.get()
        self._losses.append(loss)
        ctx.loss_layers.append(self)

    @property
    def losses(self):
        out = list(self._losses)
        for v in self._own_variables():
            reg = getattr(v, "regularizer", None)
            if reg is not None and v.trainable:
                out.append(reg(v.value))
        for layer in self._tracked_layers:
            out.extend(layer.losses)
        return out

    # -- build and call ----------------------------------------------------------
    def build(self, input_shape=None):
        if self._build_shapes_dict is None and input_shape is not None:
            self._build_shapes_dict = {"input_shape": layer_build._config_shape(input_shape)}
        self.built = True

    def call(self, *args, **kwargs):
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not implement `call()`. Subclasses of "
            "kiln.layers.Layer must define call(self, inputs)."
        )

    def forward(self, *args, **kwargs):
        return self.__call__(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        first = args[0] if args else None
        if type(first) is not torch.Tensor and (
            isinstance(first, keras_tensor.KerasTensor) or layer_build.any_symbolic(args, kwargs)
        ):
            return layer_build.symbolic_call(self, args, kwargs)
        ctx = call_context.get()
        outermost = ctx.depth == 0
        if args:
            if len(args) == 1:
                args = (self._convert_input(first),)
            else:
                args = tuple(self._convert_input(a) if isinstance(a, np.ndarray) or a is first
                             else a for a in args)
        if not self.built:
            layer_build.maybe_build(self, args, kwargs)
        elif self.input_spec is not None:
            layer_build.check_input_spec(self, args)
        previous_training = ctx.training
        if self._call_has_training:
            training = kwargs.get("training")
            if training is None:
                if previous_training is not None:
                    kwargs["training"] = previous_training
            else:
                ctx.training = bool(training)
        elif "training" in kwargs:
            # `call()` takes no `training`: it still reaches sublayers via the context.
            training = kwargs.pop("training")
            if training is not None:
                ctx.training = bool(training)
        if outermost and ctx.loss_layers:
            for layer in ctx.loss_layers:
                layer._losses.clear()
            ctx.loss_layers.clear()
        ctx.depth += 1
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            ctx.depth -= 1
            ctx.training = previous_training
        if not self._called:  # torch's __setattr__ is slow; set it once
            self._called = True
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(outputs))
        if outermost:
            return wrap_outputs(outputs)
        return outputs

    def _convert_input(self, x):
        if type(x) is torch.Tensor:
            if self.autocast and x.is_floating_point():
                target = self._dtype_policy.compute_dtype
                if target != "float32" or x.dtype != torch.float32:
                    from kiln.core import dtypes

                    td = dtypes.to_torch(target)
                    if x.dtype != td:
                        return x.to(td)
            return x
        if isinstance(x, (list, tuple)):
            return type(x)(self._convert_input(v) for v in x)
        if isinstance(x, dict):
            return {k: self._convert_input(v) for k, v in x.items()}
        if isinstance(x, (np.ndarray, np.generic, float, int)) or isinstance(x, Variable):
            t = to_tensor(x)
            return self._convert_input(t) if isinstance(t, torch.Tensor) else t
        return x

    def compute_output_shape(self, *args, **kwargs):
        return layer_build.infer_output_shape(self, args, kwargs)

    def compute_output_spec(self, *args, **kwargs):
        if type(self).compute_output_shape is not Layer.compute_output_shape and args:
            shape = self.compute_output_shape(layer_build._shape_of(args[0]))
            return layer_build.specs_from_shapes(shape, self.compute_dtype)
        return layer_build.trace_output_spec(self, args, kwargs)

    # -- graph connectivity --------------------------------------------------------
    def _single_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called and thus has no defined {what}."
            )
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer '{self.name}' has multiple inbound nodes, so its {what} is ambiguous. "
                "Use `layer._inbound_nodes[i]` to pick a call."
            )
        return self._inbound_nodes[0]

    @property
    def input(self):
        return self._single_node("input").input_structure

    @property
    def output(self):
        return self._single_node("output").output_structure

    # -- config ------------------------------------------------------------------
    def get_config(self):
        from kiln.layers import layer_config

        return layer_config.base_config(self)

    @classmethod
    def from_config(cls, config):
        from kiln.layers import layer_config

        return layer_config.from_config(cls, config)

    def get_build_config(self):
        shapes = self._build_shapes_dict
        if shapes is None:
            return None
        if len(shapes) == 1:
            return {"input_shape": next(iter(shapes.values()))}
        return {"shapes_dict": shapes}

    def build_from_config(self, config):
        if not config or self.built:
            return
        if "input_shape" in config:
            self.build(layer_build.to_shape(config["input_shape"]))
        elif "shapes_dict" in config:
            self.build(**{k: layer_build.to_shape(v) for k, v in config["shapes_dict"].items()})

    # Hooks for custom state in weight files (see kiln.saving).
    def save_own_variables(self, store):
        for i, v in enumerate(self._own_variables()):
            store[str(i)] = v.value

    def load_own_variables(self, store):
        variables = self._own_variables()
        if len(store) != len(variables):
            raise ValueError(
                f"Layer '{self.name}' expected {len(variables)} variables, but received "
                f"{len(store)} variables during loading. Expected: {[v.path for v in variables]}"
            )
        for i, v in enumerate(variables):
            v.assign(store[str(i)])


def _capture_init_args(cls, args, kwargs):
    init = cls.__init__
    if init is Layer.__init__ or not args and not kwargs:
        return dict(kwargs) if not args else None
    try:
        bound = layer_build.signature(init).bind(None, *args, **kwargs)
    except TypeError:
        return None
    config = {}
    for name, value in list(bound.arguments.items())[1:]:
        param = layer_build.signature(init).parameters[name]
        if param.kind == param.VAR_KEYWORD:
            config.update(value)
        elif param.kind != param.VAR_POSITIONAL:
            config[name] = value
    return config
