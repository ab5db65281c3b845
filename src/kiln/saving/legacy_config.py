"""Keras 2 (tf.keras) layer entries, converted to what kiln's classes accept (§5.2)."""

_LAMBDA_LEGACY_KEYS = ("module", "function_type", "output_shape_type", "output_shape_module")


def _lambda_envelope(value):
    """tf.keras's `[code_b64, defaults, closure]` → the `__lambda__` form Lambda reads.

    Nothing is decoded here; `Lambda.from_config` refuses the bytecode in safe mode.
    """
    code, defaults, closure = (list(value) + [None, None, None])[:3]
    return {"class_name": "__lambda__",
            "config": {"code": code, "defaults": defaults, "closure": closure}}


def _is_legacy_lambda(value):
    return (isinstance(value, (list, tuple)) and len(value) in (1, 2, 3)
            and isinstance(value[0], str))


def convert_layer_entry(entry):
    """Returns a copy of a legacy `{"class_name", "config"}` layer entry in Keras 3 terms.

    Converting an already converted entry changes nothing.
    """
    entry = dict(entry)
    config = entry.get("config")
    if not isinstance(config, dict):
        return entry
    config = {k: v for k, v in config.items() if k != "__passive_serialization__"}
    class_name = entry.get("class_name")
    if "batch_input_shape" in config:
        shape = config.pop("batch_input_shape")
        if class_name == "InputLayer":
            config["batch_shape"] = shape
        elif shape is not None:
            config["input_shape"] = shape[1:]
    if isinstance(config.get("axis"), list) and len(config["axis"]) == 1:
        config["axis"] = config["axis"][0]
    dtype = config.get("dtype")
    if isinstance(dtype, dict) and dtype.get("class_name") == "Policy" and "module" not in dtype:
        config["dtype"] = (dtype.get("config") or {}).get("name", "float32")
    if class_name == "Lambda":
        if _is_legacy_lambda(config.get("function")):
            config["function"] = _lambda_envelope(config["function"])
        shape = config.get("output_shape")
        if config.get("output_shape_type") == "lambda" and _is_legacy_lambda(shape):
            config["output_shape"] = _lambda_envelope(config["output_shape"])
        for key in _LAMBDA_LEGACY_KEYS:
            config.pop(key, None)
    entry["config"] = config
    return entry
