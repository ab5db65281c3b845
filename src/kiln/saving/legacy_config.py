"""Keras 2 (tf.keras) layer entries, converted to what kiln's classes accept (§5.2)."""

_LAMBDA_LEGACY_KEYS = ("module", "function_type", "output_shape_type", "output_shape_module")


def convert_layer_entry(entry):
    """Returns a copy of a legacy `{"class_name", "config"}` layer entry in Keras 3 terms."""
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
    if class_name == "Lambda":
        for key in _LAMBDA_LEGACY_KEYS:
            config.pop(key, None)
        fn = config.get("function")
        if isinstance(fn, (list, tuple)):
            config["function"] = {"class_name": "__lambda__", "config": {"value": list(fn)}}
    entry["config"] = config
    return entry
