"""`kiln.metrics.Metric`: stateful accumulation of a quantity over batches."""

import torch

from kiln.core.variable import Variable
from kiln.losses._common import auto_name, compute_dtype


class Metric:
    """Base class for metrics: state in non-trainable `kiln.Variable`s, updated per batch.

    Subclasses create their state with `add_variable()` in `__init__` (or lazily on the
    first update), accumulate into it in `update_state()`, and compute the value in
    `result()`. `metric(y_true, y_pred)` updates, then returns the result.

    Variables are named and ordered as in Keras 3 (e.g. `Mean` has `total`, `count`),
    so metric state saved by either library loads into the other.

    Args:
        dtype: The dtype of the metric's computations (default `"float32"`).
        name: Name of the instance; defaults to the snake_case class name.

    Example:
        >>> class Maximum(kiln.metrics.Metric):
        ...     def __init__(self, name="maximum", dtype=None):
        ...         super().__init__(name=name, dtype=dtype)
        ...         self.best = self.add_variable((), "zeros", name="best")
        ...     def update_state(self, values):
        ...         self.best.assign(torch.maximum(self.best.value, torch.as_tensor(values).max()))
        ...     def result(self):
        ...         return self.best.value.clone()
        >>> Maximum()([1.0, 5.0, 2.0])
        tensor(5.)
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or auto_name(self.__class__.__name__)
        self._dtype = compute_dtype(dtype)
        self._metrics = []
        self._variables = []

    # -- state ---------------------------------------------------------------------------
    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Creates a non-trainable state variable tracked in `self.variables`.

        Args:
            shape: The variable's shape.
            initializer: An initializer object, a callable `fn(shape, dtype)`, or a name
                such as `"zeros"`.
            dtype: The variable's dtype (default `"float32"`).
            aggregation: How replicas combine it (recorded for compatibility).
            name: The variable's name; its `path` becomes `"<metric name>/<name>"`.
        """
        self._check_super_called()
        variable = Variable(
            initializer=_resolve_initializer(initializer), shape=shape, dtype=dtype,
            trainable=False, aggregation=aggregation, synchronization="on_read", name=name,
        )
        variable.path = f"{self.name.replace('/', '>')}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Alias of `add_variable` (zeros when no initializer is given)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """This metric's variables, then those of metrics held as attributes."""
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    def reset_state(self):
        """Sets every state variable back to zero."""
        for v in self.variables:
            v.assign(torch.zeros(v.shape, dtype=v.value.dtype))

    # -- the protocol subclasses implement -----------------------------------------------
    def update_state(self, *args, **kwargs):
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `update_state(...)` to accumulate "
            "statistics into its variables."
        )

    def result(self):
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `result()` to compute the metric "
            "value from its variables."
        )

    def __call__(self, *args, **kwargs):
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    # -- config --------------------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __setattr__(self, name, value):
        # Metrics held as attributes contribute their variables, as in Keras.
        if isinstance(value, Metric) and "_metrics" in self.__dict__:
            if not any(m is value for m in self._metrics):
                self._metrics.append(value)
        elif isinstance(value, Variable) and "_variables" in self.__dict__:
            if not any(v is value for v in self._variables):
                self._variables.append(value)
        super().__setattr__(name, value)

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError(
                f"{self.__class__.__name__}.__init__() must call `super().__init__()` before "
                "creating variables or being called."
            )

    def __repr__(self):
        return f"<{self.__class__.__name__} name={self.name}>"

    def __str__(self):
        return self.__repr__()


def _zeros(shape, dtype=None):
    from kiln.core import dtypes

    return torch.zeros(shape, dtype=dtypes.to_torch(dtype or "float32"))


def _resolve_initializer(initializer):
    if initializer is None or (isinstance(initializer, str) and initializer in ("zeros", "Zeros")):
        return _zeros
    if isinstance(initializer, (str, dict)):
        from kiln import initializers

        return initializers.get(initializer)
    if callable(initializer):
        return initializer
    raise ValueError(
        f"Metric variables need an initializer: a name such as 'zeros', an initializer object "
        f"or a callable fn(shape, dtype). Received: initializer={initializer!r}"
    )
