"""Preprocessing layers: `Rescaling`."""

from kiln.layers.preprocessing.rescaling import Rescaling

__all__ = ["Rescaling"]
