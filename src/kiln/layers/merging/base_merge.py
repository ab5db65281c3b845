"""`Merge`: the base of the layers that combine a list of tensors elementwise.

Shapes follow Keras 3: non-batch dimensions broadcast numpy-style (a 1 or an unknown
size matches anything), and inputs of lower rank get size-1 axes inserted right after
the batch axis before the merge.
"""

import torch

from kiln.layers.layer import Layer


def elementwise_shape(shape1, shape2):
    """The broadcast of two shapes without batch axes, or a ValueError like Keras's."""
    if shape1 is None or shape2 is None:
        return None
    if len(shape1) < len(shape2):
        return elementwise_shape(shape2, shape1)
    if not shape2:
        return tuple(shape1)
    out = list(shape1[: -len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(
                f"Inputs have incompatible shapes. Received shapes {tuple(shape1)} and "
                f"{tuple(shape2)}"
            )
    return tuple(out)


def _is_shape_list(input_shape):
    return isinstance(input_shape, (list, tuple)) and bool(input_shape) and all(
        s is None or isinstance(s, (list, tuple)) for s in input_shape)


class Merge(Layer):
    """Base class of `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`.

    Subclasses implement `_merge_function(inputs)` on a list of same-rank tensors.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    def _merge_function(self, inputs):
        raise NotImplementedError

    def build(self, input_shape):
        if not _is_shape_list(input_shape) or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(
                f"A merge layer ({type(self).__name__}) should be called on a list of inputs. "
                f"Received: input_shape={input_shape} (not a list of shapes)"
            )
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                "Cannot merge tensors with different batch sizes. "
                f"Received tensors with shapes {list(input_shape)}"
            )
        output_shape = None if input_shape[0] is None else tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output_shape = elementwise_shape(output_shape,
                                             None if shape is None else tuple(shape[1:]))
        ranks = {len(s) for s in input_shape if s is not None}
        self._reshape_required = None in input_shape or len(ranks) != 1

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"A merge layer ({type(self).__name__}) should be called on a list of inputs. "
                f"Received: inputs of type {type(inputs).__name__} (not a list of tensors)"
            )
        inputs = list(inputs)
        max_rank = max(x.dim() for x in inputs)
        if self._reshape_required and any(x.dim() != max_rank for x in inputs):
            inputs = [x.reshape((x.shape[0],) + (1,) * (max_rank - x.dim()) + tuple(x.shape[1:]))
                      if x.dim() >= 1 else x for x in inputs]
        return self._merge_function(inputs)

    def compute_output_shape(self, input_shape):
        output_shape = None if input_shape[0] is None else tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output_shape = elementwise_shape(output_shape,
                                             None if shape is None else tuple(shape[1:]))
        batch_sizes = {s[0] for s in input_shape if s is not None} - {None}
        batch = next(iter(batch_sizes)) if len(batch_sizes) == 1 else None
        return (batch,) + tuple(output_shape)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received: mask={mask}")
        if len(mask) != len(inputs):
            raise ValueError(
                "The lists `inputs` and `mask` should have the same length. Received "
                f"{len(inputs)} inputs and {len(mask)} masks."
            )
        if any(m is None for m in mask):
            return None
        out = torch.as_tensor(mask[0]).bool()
        for m in mask[1:]:
            out = out | torch.as_tensor(m).bool()
        return out

    def get_config(self):
        return super().get_config()
