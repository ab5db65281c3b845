"""Normalization layers: `BatchNormalization`, `LayerNormalization`."""

from kiln.layers.normalization.batch_normalization import BatchNormalization
from kiln.layers.normalization.layer_normalization import LayerNormalization

__all__ = ["BatchNormalization", "LayerNormalization"]
