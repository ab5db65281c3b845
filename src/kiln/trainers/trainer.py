"""Training entry points behind `Model.compile/fit/evaluate/predict/...` (Keras 3 semantics).

`compile()` stores on the model: `optimizer`, `loss`, `compiled`, `stop_training`,
`jit_compile`, `run_eagerly`, `steps_per_execution`, the loss tracker, the compiled
loss and metrics, and the arguments needed by `get_compile_config()`. The loops are in
`kiln.trainers.loops`; one step is `kiln.trainers.step_runner`.
"""

import inspect
import warnings

from kiln.trainers import loops
from kiln.trainers.compile_loss import CompileLoss
from kiln.trainers.compile_metrics import CompileMetrics
from kiln.trainers.structures import model_output_names

_COMPILE_KEYS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics",
                 "run_eagerly", "steps_per_execution", "jit_compile")


def compile(model, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
            weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
            jit_compile="auto", auto_scale_loss=True):
    """Configures `model` for training.

    Args:
        model: A `kiln.Model`.
        optimizer: An optimizer name (`"adam"`) or a `kiln.optimizers.Optimizer`.
        loss: A loss name, function or `kiln.losses.Loss`; for several outputs, a list
            (one per output) or a dict keyed by output name.
        loss_weights: Scalar weights of each output's loss in the total (number, list, dict).
        metrics: A list of metrics (names, functions, `kiln.metrics.Metric`s); for several
            outputs, a list of lists or a dict keyed by output name. `"accuracy"` picks
            binary, sparse categorical or categorical accuracy from the data's shapes.
        weighted_metrics: Like `metrics`, but weighted by `sample_weight`/`class_weight`.
        run_eagerly: Accepted for Keras compatibility (kiln always runs eagerly).
        steps_per_execution: Accepted for Keras compatibility (one batch per step).
        jit_compile: True wraps the forward pass with `torch.compile`; `"auto"` means False.
        auto_scale_loss: Accepted for Keras compatibility.

    Example:
        >>> model.compile(optimizer="adam",
        ...               loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
        ...               metrics=["accuracy"])
    """
    from kiln import metrics as metrics_module
    from kiln import optimizers

    optimizer = optimizers.get(optimizer)
    output_names = model_output_names(model)
    compile_loss = CompileLoss(loss, loss_weights, output_names) if loss is not None else None
    compile_metrics = None
    if metrics is not None or weighted_metrics is not None:
        compile_metrics = CompileMetrics(metrics, weighted_metrics, output_names)
    if jit_compile == "auto":
        jit_compile = False
    if jit_compile and run_eagerly:
        warnings.warn("If `run_eagerly` is True, then `jit_compile` cannot also be True. "
                      "Disabling `jit_compile`.", stacklevel=3)
        jit_compile = False
    model.optimizer = optimizer
    model.loss = loss
    model._compile_loss = compile_loss
    model._compile_metrics = compile_metrics
    model._loss_tracker = metrics_module.Mean(name="loss")
    model.jit_compile = bool(jit_compile)
    model.run_eagerly = run_eagerly
    model.steps_per_execution = steps_per_execution
    model.stop_training = False
    model.compiled = True
    model._kiln_step_runner = None
    model._compile_config = {
        "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
        "metrics": metrics, "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
        "steps_per_execution": steps_per_execution, "jit_compile": bool(jit_compile),
    }


def get_compile_config(model):
    """The serialized `compile()` arguments (keras-format.md §2.9), `{}` if not compiled.

    Strings stay strings, objects become config envelopes, lists and dicts keep their
    structure; the optimizer is always an envelope.

    Example:
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        >>> model.get_compile_config()["loss"]
        'mse'
    """
    config = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or config is None:
        return {}
    from kiln.saving import serialize_keras_object

    return {key: serialize_keras_object(config[key]) for key in _COMPILE_KEYS}


def compile_from_config(model, config):
    """Compiles `model` from `get_compile_config()` output and builds the optimizer.

    A missing `optimizer` means `"rmsprop"`. If the model is built, the optimizer's
    variables are created at once so that saved optimizer state can be loaded into them.
    If the model's class overrides `compile()`, nothing is done and a warning is issued.
    """
    if not config:
        return
    from kiln.models.model import Model

    if type(model).compile is not Model.compile:
        warnings.warn(
            "`compile()` was not called as part of model loading because the model's "
            "`compile()` method is custom. All subclassed Models that have `compile()` "
            "overridden should also override `get_compile_config()` and "
            "`compile_from_config(config)`. Alternatively, you can call `compile()` "
            "manually after loading.", stacklevel=3)
        return
    from kiln.saving import deserialize_keras_object

    config = deserialize_keras_object(config)
    accepted = set(inspect.signature(compile).parameters) - {"model"}
    unknown = sorted(set(config) - accepted)
    if unknown:
        warnings.warn(f"Ignoring unknown compile arguments in the saved config: {unknown}",
                      stacklevel=3)
    model.compile(**{k: v for k, v in config.items() if k in accepted})
    if getattr(model, "built", False) and getattr(model, "optimizer", None) is not None:
        model.optimizer.build(model.trainable_variables)


def model_metrics(model):
    """`model.metrics`: the loss tracker, the compiled metrics, the per-output loss trackers,
    then metrics the model holds as attributes (Keras 3's order)."""
    out = []
    if getattr(model, "compiled", False):
        tracker = getattr(model, "_loss_tracker", None)
        if tracker is not None:
            out.append(tracker)
        compiled = getattr(model, "_compile_metrics", None)
        if compiled is not None:
            out.append(compiled)
        compile_loss = getattr(model, "_compile_loss", None)
        if compile_loss is not None:
            out.extend(compile_loss.metrics)
    from kiln.metrics import Metric

    known = {id(m) for m in out}
    for value in vars(model).values():
        if isinstance(value, Metric) and id(value) not in known:
            known.add(id(value))
            out.append(value)
    return out


def compute_loss(model, x=None, y=None, y_pred=None, sample_weight=None, training=True):
    """The total loss of a batch: the compiled loss plus `model.losses` (for custom steps).

    Example:
        >>> def train_step(self, data):
        ...     x, y = data
        ...     loss = self.compute_loss(y=y, y_pred=self(x, training=True))
    """
    loops.assert_compiled(model, "compute_loss")
    return loops.runner_for(model).compute_loss(y, y_pred, sample_weight)[0]


def compute_metrics(model, x, y, y_pred, sample_weight=None):
    """Updates the compiled metrics with a batch; returns `get_metrics_result()`."""
    runner = loops.runner_for(model)
    if getattr(model, "_compile_metrics", None) is not None:
        runner.update_metrics(y, y_pred, sample_weight)
    return get_metrics_result(model)


def get_metrics_result(model):
    """`{name: value}` for every metric in `model.metrics` (compiled metrics merged)."""
    from kiln.trainers import logs

    return logs.metric_results(model)


def reset_metrics(model):
    """Resets the state of every metric in `model.metrics`."""
    for metric in model.metrics:
        metric.reset_state()


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
        validation_batch_size=None, validation_freq=1):
    """Trains `model` for `epochs` epochs; returns the `History` callback.

    `x`/`y` may be numpy arrays or torch tensors (lists or dicts of them for several
    inputs/outputs), or `x` may be a generator or torch `DataLoader`/`Dataset` yielding
    `(x, y)` or `(x, y, sample_weight)`. See `keras.Model.fit` for every argument.

    Example:
        >>> history = model.fit(x_train, y_train, epochs=5, batch_size=32,
        ...                     validation_data=(x_val, y_val))
        >>> history.history["val_loss"]
    """
    return loops.fit(model, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                     callbacks=callbacks, validation_split=validation_split,
                     validation_data=validation_data, shuffle=shuffle,
                     class_weight=class_weight, sample_weight=sample_weight,
                     initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                     validation_steps=validation_steps,
                     validation_batch_size=validation_batch_size,
                     validation_freq=validation_freq)


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             steps=None, callbacks=None, return_dict=False, **kwargs):
    """Returns the loss and metrics on the given data: a scalar, `[loss, *metrics]`, or a
    dict with `return_dict=True`.

    Example:
        >>> loss, acc = model.evaluate(x_test, y_test, verbose=2)
        313/313 - 0s - 1ms/step - accuracy: 0.8750 - loss: 0.4120
    """
    return loops.evaluate(model, x, y, batch_size=batch_size, verbose=verbose,
                          sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                          return_dict=return_dict, **kwargs)


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    """Returns the model's outputs for `x` as numpy arrays (batched, without gradients).

    Example:
        >>> probabilities = model.predict(x_test, batch_size=256, verbose=0)
    """
    return loops.predict(model, x, batch_size=batch_size, verbose=verbose, steps=steps,
                         callbacks=callbacks)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    """One gradient update on one batch; returns the loss and metrics of that batch.

    Example:
        >>> loss = model.train_on_batch(x_batch, y_batch)
    """
    return loops.train_on_batch(model, x, y, sample_weight=sample_weight,
                                class_weight=class_weight, return_dict=return_dict)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    """Loss and metrics of one batch, without updating the model.

    Example:
        >>> loss = model.test_on_batch(x_batch, y_batch)
    """
    return loops.test_on_batch(model, x, y, sample_weight=sample_weight,
                               return_dict=return_dict)


def predict_on_batch(model, x):
    """The model's outputs for one batch, as numpy arrays.

    Example:
        >>> model.predict_on_batch(x_batch).shape
        (32, 10)
    """
    return loops.predict_on_batch(model, x)
