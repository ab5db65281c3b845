"""Merging layers: combine a list of tensors (`Add`, `Concatenate`, `Dot`, ...)."""

from kiln.layers.merging.add import Add, add
from kiln.layers.merging.average import Average, average
from kiln.layers.merging.concatenate import Concatenate, concatenate
from kiln.layers.merging.dot import Dot, dot
from kiln.layers.merging.maximum import Maximum, maximum
from kiln.layers.merging.minimum import Minimum, minimum
from kiln.layers.merging.multiply import Multiply, multiply
from kiln.layers.merging.subtract import Subtract, subtract

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply",
           "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum",
           "multiply", "subtract"]
