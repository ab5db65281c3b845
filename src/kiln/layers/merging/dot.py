"""`Dot`: batchwise dot product of two tensors along chosen axes."""

import torch

from kiln.layers.merging.base_merge import Merge

_NORM_EPSILON = 1e-7  # Keras's backend.epsilon(), the floor of l2 normalization


def _l2_normalize(x, axis):
    inv_norm = torch.rsqrt(torch.sum(x * x, dim=axis, keepdim=True))
    return x * torch.clamp(inv_norm, max=1.0 / _NORM_EPSILON)


def batch_dot(x, y, axes):
    """Contracts `x`'s axis `axes[0]` with `y`'s axis `axes[1]`, batchwise over axis 0.

    The result has `x`'s remaining axes, then `y`'s; two rank-2 inputs give `(batch, 1)`.

    Example:
        >>> batch_dot(torch.ones(4, 3), torch.ones(4, 3), (1, 1)).shape
        torch.Size([4, 1])
    """
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(
            "Cannot do batch_dot on inputs with rank < 2. "
            f"Received inputs with shapes {tuple(x.shape)} and {tuple(y.shape)}."
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            "Cannot do batch_dot on inputs with different batch sizes. "
            f"Received inputs with shapes {tuple(x.shape)} and {tuple(y.shape)}."
        )
    a0, a1 = axes[0] % x.dim(), axes[1] % y.dim()
    if a0 == 0 or a1 == 0:
        raise ValueError(
            "Cannot perform batch_dot over axis 0. If your inputs are not batched, add a "
            "dummy batch dimension with `kiln.ops.expand_dims(x, 0)`."
        )
    if x.shape[a0] != y.shape[a1]:
        raise ValueError(
            f"Cannot do batch_dot on inputs with shapes {tuple(x.shape)} and "
            f"{tuple(y.shape)} with axes={[a0, a1]}. x.shape[{a0}] != y.shape[{a1}] "
            f"({x.shape[a0]} != {y.shape[a1]})."
        )
    x_rest = [d for i, d in enumerate(x.shape) if i not in (0, a0)]
    y_rest = [d for i, d in enumerate(y.shape) if i not in (0, a1)]
    batch, n = x.shape[0], x.shape[a0]
    xm = torch.movedim(x, a0, -1).reshape(batch, -1, n)
    ym = torch.movedim(y, a1, 1).reshape(batch, n, -1)
    out = torch.bmm(xm, ym).reshape([batch] + x_rest + y_rest)
    return out if out.dim() > 1 else out.reshape(batch, 1)


class Dot(Merge):
    """Dot product of two inputs along `axes`, for each sample of the batch.

    Args:
        axes: An int (the same axis of both inputs) or a pair `(axis_of_x, axis_of_y)`.
            Axis 0 (the batch) cannot be used.
        normalize: If True, L2-normalize both inputs along the dot axes first, which
            makes the output the cosine similarity.

    Example:
        >>> x = np.arange(10, dtype="float32").reshape(1, 5, 2)
        >>> y = np.arange(10, 20, dtype="float32").reshape(1, 2, 5)
        >>> kiln.layers.Dot(axes=(1, 2))([x, y]).shape
        torch.Size([1, 2, 2])
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(
                    "Invalid type for argument `axes`: it should be a list or an int. "
                    f"Received: axes={axes}"
                )
            if len(axes) != 2:
                raise ValueError(
                    "Invalid format for argument `axes`: it should contain two elements. "
                    f"Received: axes={axes}"
                )
            if not isinstance(axes[0], int) or not isinstance(axes[1], int):
                raise ValueError(
                    "Invalid format for argument `axes`: list elements should be integers. "
                    f"Received: axes={axes}"
                )
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True
        self._reshape_required = False

    def _resolve_axes(self, rank1, rank2):
        if isinstance(self.axes, int):
            if self.axes < 0:
                return [self.axes % rank1, self.axes % rank2]
            return [self.axes, self.axes]
        return [a % r if a < 0 else a for a, r in zip(self.axes, (rank1, rank2))]

    def build(self, input_shape):
        if not isinstance(input_shape[0], (list, tuple)) or len(input_shape) != 2:
            raise ValueError(
                "A `Dot` layer should be called on a list of 2 inputs. "
                f"Received: input_shape={input_shape}"
            )
        shape1, shape2 = input_shape
        if shape1 is None or shape2 is None:
            return
        axes = self._resolve_axes(len(shape1), len(shape2))
        if shape1[axes[0]] != shape2[axes[1]]:
            raise ValueError(
                f"Incompatible input shapes: axis values {shape1[axes[0]]} (at axis "
                f"{axes[0]}) != {shape2[axes[1]]} (at axis {axes[1]}). Full input shapes: "
                f"{tuple(shape1)}, {tuple(shape2)}"
            )

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(
                f"A `Dot` layer should be called on exactly 2 inputs. Received {len(inputs)} "
                "inputs."
            )
        x1, x2 = inputs
        axes = self._resolve_axes(x1.dim(), x2.dim())
        if self.normalize:
            x1 = _l2_normalize(x1, axes[0])
            x2 = _l2_normalize(x2, axes[1])
        return batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(
                "A `Dot` layer should be called on a list of 2 inputs. "
                f"Received: input_shape={input_shape}"
            )
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        axes = self._resolve_axes(len(shape1), len(shape2))
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        shape2.pop(0)
        output_shape = shape1 + shape2
        if len(output_shape) == 1:
            output_shape += [1]
        return tuple(output_shape)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot`: `Dot(axes=axes, **kwargs)(inputs)`.

    Example:
        >>> similarity = kiln.layers.dot([a, b], axes=1, normalize=True)
    """
    return Dot(axes=axes, **kwargs)(inputs)
