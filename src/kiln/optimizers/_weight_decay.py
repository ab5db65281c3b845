"""Which variables weight decay applies to (`exclude_from_weight_decay`)."""

import re


class Exclusions:
    """Variables exempt from weight decay: listed ones, or those whose name matches."""

    def __init__(self, var_list=None, var_names=None):
        self._ids = {id(v) for v in (var_list or ())}
        names = set(var_names or ())
        self._pattern = re.compile("|".join(names)) if names else None
        self._cache = {}

    def applies_to(self, variable):
        key = id(variable)
        if key not in self._cache:
            excluded = key in self._ids or (
                self._pattern is not None and self._pattern.search(variable.name) is not None)
            self._cache[key] = not excluded
        return self._cache[key]
