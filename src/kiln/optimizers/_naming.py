"""Default optimizer names, spelled the way Keras 3 spells them.

Keras names an optimizer after its class in snake case and numbers repeats within a
session: `Adam()` is "adam", the next one "adam_1"; `RMSprop()` is "rm_sprop" and
`AdamW()` is "adam_w". The name prefixes every slot variable's path and is the `name`
attribute of the `optimizer/vars` group in weight files, so kiln follows the same rule.
"""

import re
import threading

_counts = {}
_lock = threading.Lock()


def to_snake_case(name: str) -> str:
    """`"AdamW"` -> `"adam_w"`, `"RMSprop"` -> `"rm_sprop"`, `"SGD"` -> `"sgd"`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name: str) -> str:
    """Returns the next unused default name for an object of class `class_name`."""
    base = to_snake_case(class_name)
    with _lock:
        n = _counts.get(base, 0)
        _counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"
