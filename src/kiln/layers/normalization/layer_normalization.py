"""`LayerNormalization`: normalizes each example over the given axes (Ba et al., 2016)."""

import warnings

import torch

from kiln import constraints, initializers, regularizers
from kiln.core import dtypes
from kiln.layers.layer import Layer


class LayerNormalization(Layer):
    """Normalizes each example to mean 0 and variance 1 over `axis`, then applies
    `gamma * x + beta`.

    Args:
        axis: An int or a list of ints: the axes to normalize over (default -1).
        epsilon: Added to the variance (default 1e-3).
        center, scale: Whether to learn `beta` and `gamma`.
        rms_scaling: Deprecated in Keras 3 (it scales by the variance, not the RMS);
            accepted for compatibility, with a warning. Use `gamma` only, no `beta`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: For the weights.

    Example:
        >>> layer = kiln.layers.LayerNormalization()
        >>> layer(np.array([[1.0, 2.0, 3.0]])).sum().abs().item() < 1e-5
        True
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        if rms_scaling:
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated in Keras 3: it scales the "
                "input by the variance, not the root mean square.", stacklevel=2)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(
                "LayerNormalization expects `axis` to be an int or a list/tuple of ints. "
                f"Received: axis={axis!r}"
            )
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.autocast = False
        self._trailing_plan = None

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates the axes
        if isinstance(self.axis, list):
            self.axis = sorted(self.axis)
            shape = tuple(input_shape[d] for d in self.axis)
        else:
            shape = (input_shape[self.axis],)
            self.axis = [self.axis]
        self.gamma = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma", shape=shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False)
        self.beta = None
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta", shape=shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False)
        self._trailing_plan = self._plan_trailing(input_shape)

    def _plan_trailing(self, input_shape):
        """`(rank, normalized_shape)` when a float32 call is exactly torch's `layer_norm`:
        the axes are the trailing ones, in order, and every weight is float32."""
        rank = len(input_shape)
        axes = [a % rank for a in self.axis]
        if (self.rms_scaling or axes != list(range(rank - len(axes), rank))
                or self.compute_dtype != "float32"
                or any(w.dtype != "float32" for w in (self.gamma, self.beta) if w is not None)):
            return None
        shape = tuple(input_shape[rank - len(axes):])
        if not all(isinstance(d, int) for d in shape):
            return None
        return rank, shape

    def call(self, inputs):
        plan = self._trailing_plan
        if plan is not None and inputs.dtype == torch.float32 and inputs.dim() == plan[0]:
            gamma, beta = self.gamma, self.beta
            return torch.nn.functional.layer_norm(
                inputs, plan[1], None if gamma is None else gamma.value,
                None if beta is None else beta.value, self.epsilon)
        original = inputs.dtype
        x = inputs if inputs.dtype == torch.float64 else inputs.to(torch.float32)
        rank = x.dim()
        axes = sorted(a % rank for a in self.axis)
        gamma = None if self.gamma is None else self.gamma.value.to(x.dtype)
        beta = None if self.beta is None else self.beta.value.to(x.dtype)
        broadcast = [1] * rank
        for a in self.axis:
            broadcast[a] = x.shape[a]
        trailing = axes == list(range(rank - len(axes), rank))
        if self.rms_scaling:
            variance = torch.var(x, dim=axes, keepdim=True, correction=0)
            outputs = x * torch.rsqrt(variance + self.epsilon)
            if gamma is not None:
                outputs = outputs * gamma.reshape(broadcast)
        elif trailing:
            normalized_shape = tuple(x.shape[rank - len(axes):])
            outputs = torch.nn.functional.layer_norm(
                x, normalized_shape, None if gamma is None else gamma.reshape(normalized_shape),
                None if beta is None else beta.reshape(normalized_shape), self.epsilon)
        else:
            mean = x.mean(dim=axes, keepdim=True)
            variance = (x * x).mean(dim=axes, keepdim=True) - mean * mean
            inv = torch.rsqrt(variance + self.epsilon)
            if gamma is not None:
                inv = inv * gamma.reshape(broadcast)
            shift = -mean * inv
            if beta is not None:
                shift = shift + beta.reshape(broadcast)
            outputs = x * inv + shift
        target = dtypes.to_torch(self.compute_dtype)
        if original.is_floating_point and original != target:
            outputs = outputs.to(original)
        return outputs.to(target)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for axis in axes:
            if axis >= len(input_shape) or axis < -len(input_shape):
                raise ValueError(
                    f"Axis {axis} is out of bounds for input shape {tuple(input_shape)}. "
                    f"Received: axis={self.axis}"
                )
        return input_shape

    def get_config(self):
        config = {
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
        return {**super().get_config(), **config}
