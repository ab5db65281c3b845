"""Process-wide settings (`kiln.config`)."""

from kiln.saving.serialization_safety import enable_unsafe_deserialization

__all__ = ["enable_unsafe_deserialization", "floatx", "image_data_format", "backend"]


def floatx():
    return "float32"


def image_data_format():
    return "channels_last"


def backend():
    return "torch"
