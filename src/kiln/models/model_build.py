"""Building subclassed models from an input shape, without running real data."""

from kiln.core.keras_tensor import KerasTensor
from kiln.layers import layer_build


def _specs(shape, dtype):
    if isinstance(shape, dict):
        return {k: _specs(v, dtype) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [_specs(s, dtype) for s in shape]
    return KerasTensor(tuple(shape), dtype)


def build_subclassed(model, input_shape):
    """Traces `model.call` once on meta tensors, which builds every sublayer."""
    spec = _specs(input_shape, model.compute_dtype)
    try:
        layer_build.trace_output_spec(model, (spec,), {})
    except Exception as e:
        raise ValueError(
            f"Model '{model.name}' could not be built with input_shape={input_shape}: {e}. "
            "Call the model on a batch of real data instead, or implement `build()`."
        ) from e
    model._build_shapes_dict = {"input_shape": layer_build._config_shape(input_shape)}
    model.built = True
