"""`Concatenate`: joins a list of tensors along one axis."""

import torch

from kiln.layers.merging.base_merge import Merge


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`; all other dimensions must match.

    Example:
        >>> kiln.layers.Concatenate(axis=1)([np.ones((2, 3)), np.zeros((2, 4))]).shape
        torch.Size([2, 7])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True
        self._reshape_required = False

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 1 or not isinstance(
                input_shape[0], (list, tuple)):
            raise ValueError(
                "A `Concatenate` layer should be called on a list of at least 1 input. "
                f"Received: input_shape={input_shape}"
            )
        if all(shape is None for shape in input_shape):
            return
        # What must agree: every shape with the concatenation axis removed.
        shape_set = set()
        for shape in input_shape:
            reduced = list(shape)
            if len(reduced) > self.axis:
                del reduced[self.axis]
            shape_set.add(tuple(reduced))
        if len(shape_set) == 1:
            return
        message = (
            "A `Concatenate` layer requires inputs with matching shapes except for the "
            f"concatenation axis. Received: input_shape={[tuple(s) for s in input_shape]}"
        )
        ranks = {len(s) for s in shape_set}
        if len(ranks) != 1:
            raise ValueError(message)
        (rank,) = ranks
        for axis in range(rank):
            if len({s[axis] for s in shape_set if s[axis] is not None}) > 1:
                raise ValueError(message)

    def _merge_function(self, inputs):
        return torch.cat(list(inputs), dim=self.axis)

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not isinstance(
                input_shape[0], (list, tuple)):
            raise ValueError(
                "A `Concatenate` layer should be called on a list of inputs. "
                f"Received: input_shape={input_shape}"
            )
        output_shape = list(input_shape[0])
        for shape in input_shape[1:]:
            if output_shape[self.axis] is None or shape[self.axis] is None:
                output_shape[self.axis] = None
                break
            output_shape[self.axis] += shape[self.axis]
        return tuple(output_shape)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(
                "`mask` should be a list with one entry per input. Received "
                f"{len(inputs)} inputs and mask={mask!r}."
            )
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            else:
                m = torch.as_tensor(m).bool()
                if m.dim() < x.dim():
                    m = m.unsqueeze(-1).expand(x.shape)
                masks.append(m)
        return torch.cat(masks, dim=self.axis).any(dim=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`: `Concatenate(axis=axis, **kwargs)(inputs)`.

    Example:
        >>> y = kiln.layers.concatenate([x1, x2], axis=-1)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
