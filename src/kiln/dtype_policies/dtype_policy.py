"""`DTypePolicy`: a layer's compute and variable dtypes ("float32", "mixed_float16", ...)."""

from kiln.core import dtypes


class DTypePolicy:
    """A named dtype policy.

    `"mixed_float16"` and `"mixed_bfloat16"` compute in half precision and keep
    variables in float32; any plain dtype name uses that dtype for both.

    Example:
        >>> kiln.DTypePolicy("float32").compute_dtype
        'float32'
    """

    def __init__(self, name=None):
        name = name or "float32"
        if isinstance(name, DTypePolicy):
            name = name.name
        if name in ("mixed_float16", "mixed_bfloat16"):
            self._compute = name.split("_", 1)[1]
            self._variable = "float32"
        else:
            self._compute = self._variable = dtypes.standardize(name)
            name = self._compute
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute

    @property
    def variable_dtype(self):
        return self._variable

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


_DEFAULT = DTypePolicy("float32")


def get(identifier):
    """Returns a policy from None, a name, a policy, or a serialized policy dict."""
    if identifier is None:
        return _DEFAULT
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        if identifier.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy"):
            raise ValueError(
                f"Unsupported dtype policy {identifier.get('class_name')!r}. "
                "kiln supports DTypePolicy (quantized policies are not supported yet)."
            )
        return DTypePolicy(**identifier.get("config", {}))
    if isinstance(identifier, str):
        return _DEFAULT if identifier == "float32" else DTypePolicy(identifier)
    return DTypePolicy(dtypes.standardize(identifier))


def serialize(policy):
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": policy.name}, "registered_name": None}
