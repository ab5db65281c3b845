"""`kiln.Variable`: a named, shaped, optionally trainable tensor that layers own.

A Variable holds a `torch.nn.Parameter` (`variable.value`). Layers register that
parameter with torch (trainable ones as parameters, the rest as buffers), so
`module.parameters()`, `state_dict()` and optimizers all see the very same storage
that `assign()` writes into.
"""

import contextlib
import threading

import numpy as np
import torch

from kiln.core import dtypes, write_guard

_state = threading.local()


def in_symbolic_scope() -> bool:
    """True while kiln traces a layer on the meta device to infer output shapes."""
    return getattr(_state, "symbolic", False)


@contextlib.contextmanager
def symbolic_scope():
    previous = in_symbolic_scope()
    _state.symbolic = True
    try:
        yield
    finally:
        _state.symbolic = previous


def skipping_initialization() -> bool:
    return getattr(_state, "skip_init", False)


@contextlib.contextmanager
def skip_initialization():
    """Within this scope layer weights (`Layer.add_weight`) get uninitialized storage.

    Loading uses it: the values are about to be overwritten from a file, so running
    initializers (a random fill of every weight) would only waste time. Other variables
    (metric state, optimizer slots) are initialized as usual, and loading checks that
    every weight was filled from the file.
    """
    previous = skipping_initialization()
    _state.skip_init = True
    try:
        yield
    finally:
        _state.skip_init = previous


_name_counts = {}
_name_lock = threading.Lock()


def _auto_name(base):
    with _name_lock:
        n = _name_counts.get(base, 0)
        _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


class Variable:
    """A stateful tensor with a name, a dtype and a trainable flag.

    Args:
        initializer: An array-like initial value, or a callable `fn(shape, dtype)`
            (for example a `kiln.initializers` object) used together with `shape`.
        shape: Required when `initializer` is a callable.
        dtype: A dtype name such as `"float32"`; defaults to the value's dtype
            (floats become float32).
        trainable: Whether optimizers should update it.
        name: A short name; `path` is `"<owner>/<name>"` once a layer owns it.

    Example:
        >>> v = kiln.Variable(2.0, name="var_a")
        >>> v.assign_add(1.0)
        >>> float(v.numpy())
        3.0
    """

    # Tell torch to hand Variables to `__torch_function__` before running an op.
    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True,
                 name=None, autocast=True, aggregation="none", synchronization="auto",
                 initial_value=None):
        if initializer is None:
            initializer = initial_value
        if initializer is None:
            raise ValueError("Variable needs an initial value or an initializer; received None.")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Variable name must be a string without '/'. Received: name={name!r}")
        self.name = name or _auto_name("variable")
        from kiln.core import call_context

        self.path = "/".join(call_context.get().name_scope + [self.name])
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self._meta = None
        if callable(initializer) and not isinstance(initializer, (torch.Tensor, np.ndarray)):
            if shape is None:
                raise ValueError(
                    f"Variable '{self.name}': a callable initializer needs `shape`. "
                    "Pass shape=(...) or an array as the initial value."
                )
            shape = tuple(int(d) for d in shape)
            dtype = dtypes.standardize(dtype) or "float32"
            tensor = _as_tensor(initializer(shape, dtype=dtype), dtype)
            owned = True
        else:
            tensor = _as_tensor(initializer, dtype)
            owned = False
            if shape is not None and tuple(tensor.shape) != tuple(shape):
                raise ValueError(
                    f"Variable '{self.name}': initial value has shape {tuple(tensor.shape)}, "
                    f"but shape={tuple(shape)} was requested."
                )
        trainable = bool(trainable)
        grad = trainable and (tensor.is_floating_point() or tensor.is_complex())
        tensor = tensor.detach() if owned else tensor.detach().clone()
        self._value = torch.nn.Parameter(tensor, requires_grad=grad)
        self._trainable = trainable

    # -- identity and metadata -------------------------------------------------
    @property
    def value(self) -> torch.Tensor:
        if in_symbolic_scope():
            if self._meta is None or self._meta.shape != self._value.shape:
                self._meta = torch.empty(self._value.shape, dtype=self._value.dtype, device="meta")
            return self._meta
        return self._value

    @property
    def shape(self):
        return tuple(self._value.shape)

    @property
    def ndim(self):
        return self._value.dim()

    @property
    def dtype(self) -> str:
        return dtypes.standardize(self._value.dtype)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        if self._value.is_floating_point() or self._value.is_complex():
            self._value.requires_grad_(self._trainable)

    def numpy(self) -> np.ndarray:
        return self._value.detach().cpu().numpy()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    # -- mutation --------------------------------------------------------------
    def assign(self, value):
        if in_symbolic_scope():
            return self
        t = value.value if isinstance(value, Variable) else value
        if not isinstance(t, torch.Tensor):
            t = torch.as_tensor(np.asarray(t))
        if tuple(t.shape) != self.shape:
            if t.numel() == self._value.numel() and t.numel() == 1:
                t = t.reshape(self.shape)
            else:
                raise ValueError(
                    f"Cannot assign a value of shape {tuple(t.shape)} to variable "
                    f"'{self.path}' of shape {self.shape}. Reshape the value or create a new variable."
                )
        write_guard.before_write(self._value)
        with torch.no_grad():
            self._value.copy_(t)
        return self

    def assign_add(self, delta):
        if in_symbolic_scope():
            return self
        write_guard.before_write(self._value)
        with torch.no_grad():
            self._value.add_(_unwrap(delta))
        return self

    def assign_sub(self, delta):
        if in_symbolic_scope():
            return self
        write_guard.before_write(self._value)
        with torch.no_grad():
            self._value.sub_(_unwrap(delta))
        return self

    # -- tensor protocol -------------------------------------------------------
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        args = _unwrap_tree(args)
        kwargs = _unwrap_tree(kwargs or {})
        return func(*args, **kwargs)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={self.numpy()!r}>")

    def __len__(self):
        return len(self._value)

    def __getitem__(self, idx):
        return self.value[idx]

    def __float__(self):
        return float(self._value.detach())

    def __int__(self):
        return int(self._value.detach())

    def __bool__(self):
        return bool(self._value)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self.value == _unwrap(other)

    def __ne__(self, other):
        return self.value != _unwrap(other)

    def __lt__(self, other):
        return self.value < _unwrap(other)

    def __le__(self, other):
        return self.value <= _unwrap(other)

    def __gt__(self, other):
        return self.value > _unwrap(other)

    def __ge__(self, other):
        return self.value >= _unwrap(other)

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return self.value

    def __abs__(self):
        return abs(self.value)

    def __add__(self, o):
        return self.value + _unwrap(o)

    def __radd__(self, o):
        return _unwrap(o) + self.value

    def __sub__(self, o):
        return self.value - _unwrap(o)

    def __rsub__(self, o):
        return _unwrap(o) - self.value

    def __mul__(self, o):
        return self.value * _unwrap(o)

    def __rmul__(self, o):
        return _unwrap(o) * self.value

    def __truediv__(self, o):
        return self.value / _unwrap(o)

    def __rtruediv__(self, o):
        return _unwrap(o) / self.value

    def __floordiv__(self, o):
        return self.value // _unwrap(o)

    def __rfloordiv__(self, o):
        return _unwrap(o) // self.value

    def __mod__(self, o):
        return self.value % _unwrap(o)

    def __pow__(self, o):
        return self.value ** _unwrap(o)

    def __rpow__(self, o):
        return _unwrap(o) ** self.value

    def __matmul__(self, o):
        return self.value @ _unwrap(o)

    def __rmatmul__(self, o):
        return _unwrap(o) @ self.value

    @property
    def T(self):
        return self.value.T


def _unwrap(x):
    return x.value if isinstance(x, Variable) else x


def _unwrap_tree(x):
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap_tree(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap_tree(v) for k, v in x.items()}
    return x


def _as_tensor(value, dtype=None) -> torch.Tensor:
    value = _unwrap(value)
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        arr = np.asarray(value)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif dtype is None and arr.dtype == np.int64 and not isinstance(value, np.ndarray):
            arr = arr.astype(np.int32)  # Python ints become int32, as in Keras
        t = torch.as_tensor(arr)
    if dtype is not None:
        t = t.to(dtypes.to_torch(dtype))
    elif t.dtype == torch.float64 and not isinstance(value, torch.Tensor):
        t = t.float()
    return t


def empty_initializer(shape, dtype=None):
    """An initializer that allocates without filling (see `skip_initialization`)."""
    return torch.empty(shape, dtype=dtypes.to_torch(dtype or "float32"))
