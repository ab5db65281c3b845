"""`Initializer`: the base class of everything that fills a new variable."""


class Initializer:
    """Base class for initializers: `initializer(shape, dtype=None)` returns a torch tensor.

    Subclasses implement `__call__` and, when they take arguments, `get_config` (a dict
    that `from_config` turns back into an equal initializer).

    Example:
        >>> class Fives(kiln.initializers.Initializer):
        ...     def __call__(self, shape, dtype=None):
        ...         return kiln.ops.full(shape, 5.0, dtype=dtype)
        >>> Fives()((2,))
        tensor([5., 5.])
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__call__(self, shape, dtype=None)` "
            "and return a tensor of that shape."
        )

    def get_config(self):
        """Returns the constructor arguments as a JSON-serializable dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Creates an initializer from the output of `get_config()`."""
        return cls(**config)

    def clone(self):
        """A new initializer with the same configuration."""
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
