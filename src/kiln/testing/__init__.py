"""Test helpers for kiln and for users' own layers."""

from kiln.testing.layer_test import run_layer_test

__all__ = ["run_layer_test"]
