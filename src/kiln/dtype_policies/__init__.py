"""Dtype policies: which dtype a layer computes in and which it stores variables in."""

from kiln.dtype_policies.dtype_policy import DTypePolicy, get, serialize

__all__ = ["DTypePolicy", "get", "serialize", "deserialize"]

ALL_OBJECTS = {"DTypePolicy": DTypePolicy}


def deserialize(config, custom_objects=None):
    return get(config)
