"""Regularization layers: `Dropout`."""

from kiln.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]
