"""Reshaping layers: `Flatten`, `Reshape`, `Permute`, `RepeatVector`, `ZeroPadding2D`,
`UpSampling2D`."""

from kiln.layers.reshaping.flatten import Flatten
from kiln.layers.reshaping.permute import Permute
from kiln.layers.reshaping.repeat_vector import RepeatVector
from kiln.layers.reshaping.reshape import Reshape
from kiln.layers.reshaping.up_sampling2d import UpSampling2D
from kiln.layers.reshaping.zero_padding2d import ZeroPadding2D

__all__ = ["Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling2D", "ZeroPadding2D"]
