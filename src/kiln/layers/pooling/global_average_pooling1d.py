"""`GlobalAveragePooling1D`: the mean over time steps, honouring a padding mask."""

import torch

from kiln.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Averages `(batch, steps, channels)` inputs over `steps`.

    When a boolean `mask` of shape `(batch, steps)` is given, only the unmasked steps are
    averaged. The output carries no mask.

    Example:
        >>> layer = kiln.layers.GlobalAveragePooling1D()
        >>> layer(np.ones((2, 7, 3), "float32")).shape
        torch.Size([2, 3])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        axis = self._axes[0]
        if mask is None:
            return inputs.mean(dim=axis, keepdim=self.keepdims)
        feature_axis = 2 if self.data_format == "channels_last" else 1
        weights = torch.as_tensor(mask, device=inputs.device).to(inputs.dtype)
        weights = weights.unsqueeze(feature_axis)
        total = (inputs * weights).sum(dim=axis, keepdim=self.keepdims)
        return total / weights.sum(dim=axis, keepdim=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None
