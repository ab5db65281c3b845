"""`Lambda`: wraps an arbitrary function as a layer.

A Python `lambda` is saved as marshalled bytecode (Keras's `__lambda__` encoding), which
runs code from the file when loaded, so `from_config` refuses it unless unsafe
deserialization was allowed by the caller. Named functions are saved by name and resolved
through the registry like any other object.
"""

import base64
import contextlib
import inspect
import marshal
import types

from kiln.layers.layer import Layer


def _is_python_lambda(fn):
    return isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"


def _encode_function(fn):
    """Keras's config for a function: bytecode for a lambda, the function dict otherwise."""
    if _is_python_lambda(fn):
        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    if callable(fn):
        from kiln.saving import serialize_keras_object

        return serialize_keras_object(fn)
    raise ValueError(
        f"Lambda can only serialize callables. Received: {fn!r} of type {type(fn).__name__}."
    )


def _is_encoded_lambda(value):
    return isinstance(value, dict) and value.get("class_name") == "__lambda__"


def _decode_lambda(value, layer_name, field, safe_mode):
    """Rebuilds a lambda from its bytecode, after the safe-mode check.

    `safe_mode=None` follows the enclosing loading call (or the process-wide setting);
    an explicit True/False applies unless an enclosing loading call already decided.
    """
    from kiln.saving import serialization_safety

    where = f"Lambda layer '{layer_name}', field `{field}`"
    what = f"a `Lambda` layer whose `{field}` is a Python lambda"
    scope = (contextlib.nullcontext() if safe_mode is None
             else serialization_safety.safe_mode_scope(safe_mode))
    with scope:
        serialization_safety.check_lambda_allowed(where, what=what)
        inner = value.get("config")
        if not isinstance(inner, dict) or not isinstance(inner.get("code"), str):
            from kiln.errors import DeserializationError

            raise DeserializationError(
                f"At {where}: malformed `__lambda__` config; expected a dict with a base64 "
                f"`code` string. Received: {inner!r}"
            )
        return serialization_safety.decode_lambda(inner, where)


def _argument_names(fn):
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # some builtins have no signature
        return set()


class Lambda(Layer):
    """Wraps a function `function(inputs, **arguments)` as a layer.

    Prefer subclassing `Layer` for anything with state; a `Lambda` holding a Python
    `lambda` can only be reloaded with unsafe deserialization allowed.

    Args:
        function: The function to apply. It may take `mask` and `training` arguments.
        output_shape: Output shape without the batch dimension (a tuple, or a function of
            the input shape). Inferred by tracing when omitted.
        mask: A fixed output mask, or a function `mask(inputs, previous_mask)`.
        arguments: Extra keyword arguments passed to `function`.

    Example:
        >>> layer = kiln.layers.Lambda(lambda x: x ** 2)
        >>> layer(np.array([3.0]))
        tensor([9.])
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(
                f"Lambda expects a callable `function`. Received: function={function!r}"
            )
        self.arguments = arguments or {}
        self.function = function
        self.supports_masking = mask is not None
        self.mask = mask
        self._output_shape = output_shape
        names = _argument_names(function)
        self._fn_expects_training_arg = "training" in names
        self._fn_expects_mask_arg = "mask" in names

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            from kiln.layers import layer_build

            try:
                return layer_build.infer_output_shape(self, (input_shape,), {})
            except Exception as e:
                raise NotImplementedError(
                    f"Could not infer the output shape of Lambda layer '{self.name}' ({e}). "
                    "Pass the `output_shape` argument."
                ) from e
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape
        while isinstance(first, (list, tuple)) and first and isinstance(first[0], (list, tuple)):
            first = first[0]
        batch = first[0] if first else None
        return _add_batch(self._output_shape, batch)

    def compute_output_spec(self, *args, **kwargs):
        from kiln.layers import layer_build

        if self._output_shape is None:
            return layer_build.trace_output_spec(self, args, kwargs)
        shape = self.compute_output_shape(layer_build._shape_of(args[0]))
        return layer_build.specs_from_shapes(shape, self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        from kiln.saving import serialize_keras_object

        config = {"function": _encode_function(self.function)}
        if self._output_shape is not None:
            if callable(self._output_shape):
                config["output_shape"] = _encode_function(self._output_shape)
            else:
                config["output_shape"] = self._output_shape
        if self.mask is not None:
            if callable(self.mask):
                config["mask"] = _encode_function(self.mask)
            else:
                config["mask"] = serialize_keras_object(self.mask)
        config["arguments"] = serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuilds the layer; Python lambdas need unsafe deserialization allowed.

        Example:
            >>> kiln.config.enable_unsafe_deserialization()  # only for trusted files
            >>> layer = kiln.layers.Lambda.from_config(config)
        """
        from kiln.saving import deserialize_keras_object

        config = dict(config)
        name = config.get("name", "lambda")
        for field in ("function", "output_shape", "mask"):
            if field not in config:
                continue
            value = config[field]
            if _is_encoded_lambda(value):
                config[field] = _decode_lambda(value, name, field, safe_mode)
            elif field != "output_shape" or isinstance(value, dict):
                config[field] = deserialize_keras_object(value, custom_objects=custom_objects)
            elif isinstance(value, list) and all(isinstance(d, (int, type(None))) for d in value):
                config[field] = tuple(value)
        if "arguments" in config:
            config["arguments"] = deserialize_keras_object(
                config["arguments"], custom_objects=custom_objects)
        return super().from_config(config)


def _add_batch(shape, batch):
    if isinstance(shape, dict):
        return {k: _add_batch(v, batch) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [_add_batch(s, batch) for s in shape]
    return (batch,) + tuple(shape)
