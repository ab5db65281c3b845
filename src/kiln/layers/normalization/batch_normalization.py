"""`BatchNormalization`: normalizes with batch statistics in training, moving ones at inference.

Semantics follow Keras 3 exactly (they differ from `torch.nn.BatchNorm*`):
- training (`training=True` and the layer trainable): normalize with the batch mean and
  the *biased* batch variance, and update
  `moving = moving * momentum + batch * (1 - momentum)` for both mean and variance
  (the biased variance too; torch would use the unbiased one);
- otherwise: normalize with `moving_mean` / `moving_variance`;
- `output = (x - mean) * rsqrt(variance + epsilon) * gamma + beta`.
"""

import warnings

import torch

from kiln import constraints, initializers, regularizers
from kiln.core import dtypes
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

_MASK_EPSILON = 1e-7  # Keras's backend.epsilon(), used in masked moments


def _compute_dtype(x):
    """`result_type(x.dtype, "float32")`: float64 stays, everything else is float32."""
    return x.dtype if x.dtype == torch.float64 else torch.float32


class BatchNormalization(Layer):
    """Normalizes inputs along `axis` (the features axis) with batch or moving statistics.

    Args:
        axis: The features axis (default -1, channels last).
        momentum: Momentum of the moving averages (default 0.99).
        epsilon: Added to the variance before the square root (default 1e-3).
        center, scale: Whether to learn `beta` (offset) and `gamma` (scale).
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: For the weights.
        synchronized: Cross-replica statistics (TensorFlow only in Keras); kiln computes
            per-process statistics and warns.
        renorm, renorm_clipping, renorm_momentum: Batch renormalization (Ioffe, 2017).

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable) [, moving_stddev, renorm_mean, renorm_stddev with `renorm`].

    Example:
        >>> layer = kiln.layers.BatchNormalization()
        >>> y = layer(np.random.rand(8, 3), training=True)  # updates the moving stats
        >>> [w.name for w in layer.weights]
        ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        if synchronized:
            warnings.warn(
                "BatchNormalization(synchronized=True) synchronizes statistics across "
                "TensorFlow replicas only; kiln computes them on each process's batch.",
                stacklevel=2)
        self.synchronized = synchronized
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.renorm = renorm
        if renorm:
            renorm_clipping = renorm_clipping or {}
            unknown = set(renorm_clipping) - {"rmax", "rmin", "dmax"}
            if unknown:
                raise ValueError(
                    f"Received invalid keys for `renorm_clipping` argument: {renorm_clipping}. "
                    "Supported keys: ['rmax', 'rmin', 'dmax']."
                )
            rmax, rmin = renorm_clipping.get("rmax"), renorm_clipping.get("rmin")
            dmax = renorm_clipping.get("dmax")
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(
                    "`renorm_clipping` needs rmax >= rmin. "
                    f"Received: rmax={rmax}, rmin={rmin}."
                )
            if dmax is not None and dmax < 0:
                raise ValueError(f"`renorm_clipping` needs dmax >= 0. Received: dmax={dmax}.")
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._reduction_axes = None

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"BatchNormalization layer '{self.name}' has axis={self.axis}, which is out "
                f"of bounds for input shape {tuple(input_shape)}."
            )
        size = input_shape[self.axis]
        if size is None:
            raise ValueError(
                f"BatchNormalization layer '{self.name}' needs a known size on axis "
                f"{self.axis}; received input shape {tuple(input_shape)}."
            )
        shape = (size,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False)
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
            trainable=False, autocast=False)
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer,
            trainable=False, autocast=False)
        if self.renorm:
            variance_init = self.moving_variance_initializer

            def stddev_initializer(shape, dtype=None):
                return torch.sqrt(torch.as_tensor(_clone(variance_init)(shape, dtype=dtype)))

            self.moving_stddev = self.add_weight(
                shape=shape, name="moving_stddev", initializer=stddev_initializer,
                trainable=False, autocast=False)
            self.renorm_mean = self.add_weight(
                shape=shape, name="renorm_mean",
                initializer=_clone(self.moving_mean_initializer), trainable=False,
                autocast=False)
            self.renorm_stddev = self.add_weight(
                shape=shape, name="renorm_stddev", initializer=stddev_initializer,
                trainable=False, autocast=False)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: size})
        self._reduction_axes = [a for a in range(rank) if a != self.axis % rank]

    def compute_output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(
                f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}. "
                f"Received: axis={self.axis}"
            )
        return input_shape

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            mask = torch.as_tensor(mask, device=inputs.device)
            if mask.dim() != inputs.dim() - 1:
                raise ValueError(
                    "The mask provided should be one dimension less than the inputs. "
                    f"Received: mask.shape={tuple(mask.shape)}, inputs.shape={tuple(inputs.shape)}"
                )
        x = inputs.to(_compute_dtype(inputs))
        shape = [1] * x.dim()
        shape[self.axis] = x.shape[self.axis]

        def param(variable):
            return None if variable is None else variable.value.to(x.dtype).reshape(shape)

        gamma, beta = param(self.gamma), param(self.beta)
        if training and self.trainable:
            mean, variance = self._moments(x, mask)
            if self.renorm:
                r, d = self._renorm_correction(mean, variance)
                gamma, beta = _compose(r.reshape(shape), d.reshape(shape), gamma, beta)
                self._update_renorm_statistics(mean, variance)
            else:
                self._update_moving(self.moving_mean, mean)
                self._update_moving(self.moving_variance, variance)
        else:
            mean = self.moving_mean.value.to(x.dtype)
            variance = self.moving_variance.value.to(x.dtype)
        inv = torch.rsqrt(variance.reshape(shape) + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        outputs = (x - mean.reshape(shape)) * inv
        if beta is not None:
            outputs = outputs + beta
        return outputs.to(dtypes.to_torch(self.compute_dtype))

    def _moments(self, x, mask):
        axes = self._reduction_axes or [a for a in range(x.dim()) if a != self.axis % x.dim()]
        if mask is None:
            variance, mean = torch.var_mean(x, dim=axes, correction=0)
            return mean, variance
        weights = torch.broadcast_to(mask.unsqueeze(-1), x.shape).to(torch.bool)
        count = weights.to(x.dtype).sum(dim=axes, keepdim=True)
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        mean = torch.where(weights, x, zero).sum(dim=axes, keepdim=True) / (count + _MASK_EPSILON)
        diff = torch.where(weights, x - mean, zero)
        variance = (diff * diff).sum(dim=axes, keepdim=True) / (count + _MASK_EPSILON)
        return mean.reshape(-1), variance.reshape(-1)

    def _update_moving(self, variable, batch_value):
        moving = variable.value.to(batch_value.dtype)
        variable.assign((moving * self.momentum + batch_value * (1.0 - self.momentum)).detach())

    def _renorm_correction(self, mean, variance):
        stddev = torch.sqrt(variance + self.epsilon)
        renorm_mean = self.renorm_mean.value.to(mean.dtype)
        floor = torch.sqrt(torch.tensor(self.epsilon, dtype=mean.dtype, device=mean.device))
        renorm_stddev = torch.maximum(self.renorm_stddev.value.to(mean.dtype), floor)
        r = stddev / renorm_stddev
        d = (mean - renorm_mean) / renorm_stddev
        clip = self.renorm_clipping
        if clip.get("rmin") is not None:
            r = torch.clamp(r, min=clip["rmin"])
        if clip.get("rmax") is not None:
            r = torch.clamp(r, max=clip["rmax"])
        if clip.get("dmax") is not None:
            d = torch.clamp(d, -clip["dmax"], clip["dmax"])
        return r.detach(), d.detach()

    def _update_renorm_statistics(self, mean, variance):
        mean, variance = mean.detach(), variance.detach()
        stddev = torch.sqrt(variance + self.epsilon)
        m = self.renorm_momentum
        renorm_mean = self.renorm_mean.value.to(mean.dtype)
        renorm_stddev = self.renorm_stddev.value.to(mean.dtype)
        self.renorm_mean.assign(renorm_mean * m + mean * (1.0 - m))
        self.renorm_stddev.assign(renorm_stddev * m + stddev * (1.0 - m))
        self._update_moving(self.moving_mean, mean)
        moving_stddev = self.moving_stddev.value.to(mean.dtype)
        new_stddev = moving_stddev * self.momentum + stddev * (1.0 - self.momentum)
        self.moving_stddev.assign(new_stddev)
        self.moving_variance.assign(torch.relu(new_stddev * new_stddev - self.epsilon))

    def get_config(self):
        config = {
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }
        return {**super().get_config(), **config}


def _clone(initializer):
    """A fresh copy of an initializer object (functions are returned as they are)."""
    if hasattr(initializer, "get_config") and hasattr(type(initializer), "from_config"):
        return type(initializer).from_config(initializer.get_config())
    return initializer


def _compose(r, d, gamma, beta):
    """Folds the renorm correction into the affine transform (as Keras does)."""
    if gamma is not None:
        new_gamma, new_beta = r * gamma, d * gamma
    else:
        new_gamma, new_beta = r, d
    if beta is not None:
        new_beta = new_beta + beta
    return new_gamma, new_beta
