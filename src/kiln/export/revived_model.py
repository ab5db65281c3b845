"""`RevivedModel`: an inference-only model rebuilt from an exported program.

`kiln.models.load_model("my_model")` returns one when the model's classes are not
available: the directory's `exported/` artifact still runs the forward pass.
"""

from kiln.errors import RevivedModelError
from kiln.models.model import Model


class RevivedModel(Model):
    """Runs an exported endpoint as a `kiln.Model`: call, `predict()` and `evaluate()` work.

    It has no layers and no variables (the weights live inside the program), so `fit()`
    and `train_on_batch()` raise `kiln.errors.RevivedModelError`.

    Example:
        >>> loaded = kiln.models.load_model("my_model")   # class CustomModel missing
        >>> loaded(x)                                      # runs exported/serve.pt2
    """

    def __init__(self, artifact, endpoint=None, name=None, original_class=None):
        super().__init__(name=name)
        self._set("_artifact", artifact)
        self._set("_endpoint", artifact.endpoints[endpoint or artifact.default_endpoint])
        self.original_class = original_class
        self.built = True

    def _set(self, name, value):
        object.__setattr__(self, name, value)  # not a tracked layer or torch submodule

    def call(self, inputs, *args, training=None, mask=None):
        return self._endpoint.run((inputs,) + args, cast=True)

    def __repr__(self):
        original = f" (revived from {self.original_class})" if self.original_class else ""
        return f"<RevivedModel name={self.name}{original}, built=True>"

    def _refuse(self, what):
        cls = self.original_class or "the original model class"
        return RevivedModelError(
            f"Model '{self.name}' was revived from its exported inference program because "
            f"{cls} could not be loaded, so it cannot {what}: it has no layers or trainable "
            f"variables, only a frozen forward pass. Make {cls} available (register it with "
            "`@kiln.saving.register_keras_serializable()` or pass `custom_objects=`) and "
            "load the model again to train it.")

    def fit(self, *args, **kwargs):
        raise self._refuse("be trained with fit()")

    def train_on_batch(self, *args, **kwargs):
        raise self._refuse("be trained with train_on_batch()")

    def get_config(self):
        raise self._refuse("be serialized (its config is unknown)")
