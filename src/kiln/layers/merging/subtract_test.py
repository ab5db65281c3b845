import numpy as np
import pytest

from kiln import layers
from kiln.layers.merging import _merge_testlib as lib


def test_matches_keras():
    two_input_cases = [case[:2] for case in lib.SHAPE_CASES]
    lib.check_against_keras("Subtract", shape_cases=two_input_cases)


def test_incompatible_shapes_are_reported_like_keras():
    lib.check_incompatible_shapes("Subtract")


def test_harness_and_functional_form():
    lib.check_harness("Subtract")
    lib.check_functional_form("Subtract", layers.subtract)


def test_exactly_two_inputs():
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([np.ones((2, 3), "float32")] * 3)
