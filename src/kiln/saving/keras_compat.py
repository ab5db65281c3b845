"""Configs that load in every Keras 3 release from 3.8 on, not only 3.15.

Keras 3.13–3.15 added constructor arguments that older releases reject as unknown
keyword arguments (`GlorotUniform(input_axes=...)`, `Dense(quantization_config=...)`,
...). When such a key holds its default value, leaving it out changes nothing for a
newer Keras (a missing key means the default) and lets older ones load the file. Only
files are written this way; `get_config()` keeps Keras 3.15's full key set.
"""

_INITIALIZER_AXES = {"input_axes": None, "output_axes": None}
_QUANTIZATION = {"quantization_config": None}

# class_name -> {key: default}; keys dropped from files when they hold the default.
NEW_DEFAULTS = {
    **{name: _INITIALIZER_AXES for name in (
        "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
        "LecunNormal", "VarianceScaling", "RandomNormal", "RandomUniform", "TruncatedNormal",
        "Orthogonal")},
    "Dense": _QUANTIZATION,
    "EinsumDense": _QUANTIZATION,
    "Embedding": _QUANTIZATION,
    "MultiHeadAttention": {"sliding_window": None, "use_gate": False},
    "BatchNormalization": {"renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99},
}


def strip_new_defaults(config):
    """Returns a copy of a config tree without default-valued keys new in Keras ≥ 3.13."""
    if isinstance(config, list):
        return [strip_new_defaults(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: strip_new_defaults(v) for k, v in config.items()}
    defaults = NEW_DEFAULTS.get(out.get("class_name"))
    module = out.get("module") or ""
    inner = out.get("config")
    if defaults and isinstance(inner, dict) and (module.startswith("keras") or not module):
        out["config"] = {k: v for k, v in inner.items()
                         if not (k in defaults and v == defaults[k])}
    return out
