"""Models: functional, Sequential and subclassed, plus whole-model saving entry points."""

from kiln.models.functional import Functional
from kiln.models.model import Model
from kiln.models.sequential import Sequential

__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "clone_model",
           "model_from_json"]

ALL_OBJECTS = {"Model": Model, "Sequential": Sequential, "Functional": Functional}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    from kiln import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile,
                             safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    from kiln import saving

    return saving.save_model(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    from kiln.models import cloning

    return cloning.clone_model(model, input_tensors=input_tensors, clone_function=clone_function,
                               call_function=call_function, recursive=recursive, **kwargs)


def model_from_json(json_string, custom_objects=None):
    from kiln.saving import serialization

    return serialization.model_from_json(json_string, custom_objects=custom_objects)
