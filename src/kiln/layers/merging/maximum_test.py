from kiln import layers
from kiln.layers.merging import _merge_testlib as lib


def test_matches_keras():
    lib.check_against_keras("Maximum")


def test_incompatible_shapes_are_reported_like_keras():
    lib.check_incompatible_shapes("Maximum")


def test_harness_and_functional_form():
    lib.check_harness("Maximum")
    lib.check_functional_form("Maximum", layers.maximum)
