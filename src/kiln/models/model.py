"""`kiln.Model`: a Layer that can be trained, saved and exported.

`Model(inputs, outputs)` builds a functional model; subclassing `Model` and defining
`call()` builds a subclassed one. Training lives in `kiln.trainers`, saving in
`kiln.saving` and export in `kiln.export`: the methods here are thin entry points.
"""

from kiln.layers.layer import Layer


def _functional_args(args, kwargs):
    return (len(args) >= 2) or ("outputs" in kwargs) or (len(args) == 1 and "outputs" in kwargs)


class Model(Layer):
    """A trainable, saveable group of layers.

    Example:
        >>> inputs = kiln.Input(shape=(3,))
        >>> outputs = kiln.layers.Dense(2)(inputs)
        >>> model = kiln.Model(inputs, outputs)
    """

    optimizer = None  # set by compile()

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_args(args, kwargs):
            from kiln.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        from kiln.models.functional import Functional

        if _functional_args(args, kwargs) and not isinstance(self, Functional):
            _inject_functional(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        Layer.__init__(self, *args, **kwargs)

    @property
    def layers(self):
        return list(self._tracked_layers)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds a model from `get_config()` output (functional configs included)."""
        if isinstance(config, dict) and all(
            k in config for k in ("layers", "input_layers", "output_layers")
        ):
            from kiln.models import functional_config
            from kiln.models.functional import Functional

            target = cls
            if cls.__init__ not in (Model.__init__, Functional.__init__):
                target = Functional
            return functional_config.from_config(target, config, custom_objects)
        return super().from_config(config)

    def get_layer(self, name=None, index=None):
        """Returns a layer by `name` or by `index` in `model.layers`."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both.")
        if index is not None:
            layers = self.layers
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model '{self.name}' "
                    f"only has {len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}."
            )
        raise ValueError("Provide either a layer name or a layer index.")

    def build(self, input_shape=None):
        """Builds a subclassed model by calling it once on symbolic inputs."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(
                f"Model '{self.name}' cannot be built without an input shape. Call it on "
                "data or pass `input_shape` to `build()`."
            )
        from kiln.models import model_build

        model_build.build_subclassed(self, input_shape)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        from kiln.utils import summary_utils

        summary_utils.print_summary(self, line_length=line_length, print_fn=print_fn,
                                    expand_nested=expand_nested, show_trainable=show_trainable)

    # -- training (kiln.trainers) -------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        from kiln.trainers import trainer

        trainer.compile(self, optimizer=optimizer, loss=loss, loss_weights=loss_weights,
                        metrics=metrics, weighted_metrics=weighted_metrics,
                        run_eagerly=run_eagerly, steps_per_execution=steps_per_execution,
                        jit_compile=jit_compile, auto_scale_loss=auto_scale_loss)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, **kwargs):
        """Trains the model (Keras's argument order, so positional calls work too)."""
        from kiln.trainers import trainer

        return trainer.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                           callbacks=callbacks, validation_split=validation_split,
                           validation_data=validation_data, shuffle=shuffle,
                           class_weight=class_weight, sample_weight=sample_weight,
                           initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                           validation_steps=validation_steps,
                           validation_batch_size=validation_batch_size,
                           validation_freq=validation_freq, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        from kiln.trainers import trainer

        return trainer.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                                return_dict=return_dict, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        from kiln.trainers import trainer

        return trainer.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                               callbacks=callbacks)

    def train_on_batch(self, x, y=None, **kwargs):
        from kiln.trainers import trainer

        return trainer.train_on_batch(self, x, y, **kwargs)

    def test_on_batch(self, x, y=None, **kwargs):
        from kiln.trainers import trainer

        return trainer.test_on_batch(self, x, y, **kwargs)

    def predict_on_batch(self, x):
        from kiln.trainers import trainer

        return trainer.predict_on_batch(self, x)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return {}  # as kiln.trainers answers, without loading the training stack
        from kiln.trainers import trainer

        return trainer.get_compile_config(self)

    def compile_from_config(self, config):
        from kiln.trainers import trainer

        trainer.compile_from_config(self, config)

    @property
    def metrics(self):
        """The loss tracker, the compiled metrics, per-output loss trackers (Keras 3 order)."""
        from kiln.trainers import trainer

        return trainer.model_metrics(self)

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        from kiln.trainers import trainer

        trainer.reset_metrics(self)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        from kiln.trainers import trainer

        return trainer.compute_loss(self, x, y, y_pred, sample_weight, training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        from kiln.trainers import trainer

        return trainer.compute_metrics(self, x, y, y_pred, sample_weight)

    def get_metrics_result(self):
        from kiln.trainers import trainer

        return trainer.get_metrics_result(self)

    # -- saving and export (kiln.saving, kiln.export) -------------------------------
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        from kiln import saving

        return saving.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None, **kwargs):
        from kiln import saving

        return saving.save_weights(self, filepath, overwrite=overwrite,
                                   max_shard_size=max_shard_size, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        from kiln import saving

        return saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs):
        from kiln.saving import serialization

        return serialization.model_to_json(self, **kwargs)

    def export(self, filepath, format="torch", verbose=True, input_signature=None, **kwargs):
        from kiln import export

        return export.export_model(self, filepath, format=format, verbose=verbose,
                                   input_signature=input_signature, **kwargs)


def _inject_functional(cls):
    """Lets `class MyModel(kiln.Model)` call `super().__init__(inputs, outputs)`."""
    from kiln.models.functional import Functional

    if issubclass(cls, Functional):
        return
    for klass in cls.__mro__:
        if Model in klass.__bases__:
            klass.__bases__ = tuple(Functional if b is Model else b for b in klass.__bases__)
            return
