"""Attribute tracking for layers: which sublayers and variables a layer owns.

A layer records, in assignment order, every Layer and Variable assigned to one of its
attributes, directly or inside a list, tuple or dict. That order is Keras's order for
`layer.weights` and for the weight file. Lists and dicts of layers are also mirrored
as torch child modules (`blocks.0.kernel` in `state_dict()`), so torch sees them too.
"""

import torch

from kiln.core.variable import Variable


def _is_layer(value):
    from kiln.layers.layer import Layer

    return isinstance(value, Layer)


def track_value(owner, value):
    """Records `value` (and anything inside it) on `owner`; returns what to store."""
    if isinstance(value, Variable):
        owner._track_variable(value)
    elif _is_layer(value):
        owner._track_layer(value)
    elif isinstance(value, (list, tuple, dict)):
        for item in (value.values() if isinstance(value, dict) else value):
            track_value(owner, item)
    return value


def contains_trackable(value, depth=0):
    if depth > 8:
        return False
    if isinstance(value, Variable) or _is_layer(value):
        return True
    if isinstance(value, dict):
        return any(contains_trackable(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_trackable(v, depth + 1) for v in value)
    return False


class _Container(torch.nn.Module):
    """A torch-only mirror of a list/dict of layers, so that torch walks into it."""

    def __repr__(self):
        return f"{type(self).__name__}({list(self._modules)})"


def mirror_container(owner, name, value):
    """Registers the layers in list/dict `value` as torch children under `name`."""
    mirror = _Container()
    _fill_mirror(mirror, value, 0)
    owner._modules[name] = mirror


def _fill_mirror(mirror, value, depth):
    if depth > 8:
        return
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        key = str(key).replace(".", "_") or "_"
        if _is_layer(item):
            mirror._modules[key] = item
        elif isinstance(item, Variable):
            mirror._parameters[key] = item._value if item.trainable else None
            if not item.trainable:
                del mirror._parameters[key]
                mirror._buffers[key] = item._value
        elif isinstance(item, (list, tuple, dict)):
            sub = _Container()
            _fill_mirror(sub, item, depth + 1)
            mirror._modules[key] = sub


class TrackedList(list):
    """A list attribute of a layer that keeps the layer's tracking up to date."""

    def __init__(self, owner, name, items):
        super().__init__(items)
        self._owner = owner
        self._name = name

    def _changed(self):
        track_value(self._owner, list(self))
        mirror_container(self._owner, self._name, self)

    def append(self, item):
        super().append(item)
        self._changed()

    def extend(self, items):
        super().extend(items)
        self._changed()

    def insert(self, index, item):
        super().insert(index, item)
        self._changed()

    def __setitem__(self, index, item):
        super().__setitem__(index, item)
        self._changed()

    def __iadd__(self, items):
        super().extend(items)
        self._changed()
        return self

    def pop(self, index=-1):
        item = super().pop(index)
        self._changed()
        return item

    def remove(self, item):
        super().remove(item)
        self._changed()

    def __delitem__(self, index):
        super().__delitem__(index)
        self._changed()

    def clear(self):
        super().clear()
        self._changed()

    def __reduce__(self):
        return (list, (list(self),))


class TrackedDict(dict):
    """A dict attribute of a layer that keeps the layer's tracking up to date."""

    def __init__(self, owner, name, items):
        super().__init__(items)
        self._owner = owner
        self._name = name

    def _changed(self):
        track_value(self._owner, dict(self))
        mirror_container(self._owner, self._name, self)

    def __setitem__(self, key, item):
        super().__setitem__(key, item)
        self._changed()

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        self._changed()

    def pop(self, key, *default):
        item = super().pop(key, *default)
        self._changed()
        return item

    def __delitem__(self, key):
        super().__delitem__(key)
        self._changed()

    def __reduce__(self):
        return (dict, (dict(self),))


def wrap_container(owner, name, value):
    """Wraps a list/dict holding layers or variables so mutations stay tracked."""
    if type(value) is list:
        value = TrackedList(owner, name, value)
    elif type(value) is dict:
        value = TrackedDict(owner, name, value)
    mirror_container(owner, name, value)
    return value
