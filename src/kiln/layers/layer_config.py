"""The base `get_config` / `from_config` of layers, following Keras 3's rules."""

import copy

from kiln import dtype_policies


def base_config(layer):
    """`{"name", <constructor args if captured>, "trainable", "dtype"}` as Keras writes it."""
    from kiln.layers.layer import Layer

    config = {"name": layer.name}
    if type(layer).get_config is Layer.get_config:
        auto = layer._auto_config
        if auto is None:
            raise NotImplementedError(
                f"Layer {type(layer).__name__} has constructor arguments but no get_config(). "
                "Implement get_config() returning them so the layer can be saved and cloned."
            )
        config.update(copy.copy(auto))
        config["name"] = layer.name
    config["trainable"] = layer.trainable
    config["dtype"] = dtype_policies.serialize(layer.dtype_policy)
    if layer.activity_regularizer is not None:
        from kiln import regularizers

        config["activity_regularizer"] = regularizers.serialize(layer.activity_regularizer)
    return config


def from_config(cls, config):
    config = dict(config)
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = dtype_policies.get(config["dtype"])
    try:
        return cls(**config)
    except Exception as e:
        raise TypeError(
            f"Error when deserializing class '{cls.__name__}' using config={config}.\n\n"
            f"Exception encountered: {e}. If the class takes arguments that are not plain "
            "values (for example layers), override `from_config` to deserialize them."
        ) from e
