from kiln import layers
from kiln.layers.merging import _merge_testlib as lib


def test_matches_keras():
    lib.check_against_keras("Average")


def test_incompatible_shapes_are_reported_like_keras():
    lib.check_incompatible_shapes("Average")


def test_harness_and_functional_form():
    lib.check_harness("Average")
    lib.check_functional_form("Average", layers.average)
