"""The `fit()`, `evaluate()` and `predict()` loops (and their one-batch variants)."""

import warnings

import numpy as np
import torch

from kiln.trainers import data_adapter, logs as logs_lib
from kiln.trainers.step_runner import StepRunner


# -- shared helpers ---------------------------------------------------------------------
def assert_compiled(model, method):
    if not getattr(model, "compiled", False):
        raise ValueError(
            f"You must call `compile()` before using `{method}()` on model '{model.name}'. "
            "For example: model.compile(optimizer='adam', loss='mse')."
        )


def runner_for(model):
    runner = getattr(model, "_kiln_step_runner", None)
    if runner is None or runner.model is not model:
        runner = StepRunner(model)
        object.__setattr__(model, "_kiln_step_runner", runner)
    return runner


def model_device(model):
    for variable in model.weights:
        return variable.value.device
    return None


def reset_metrics(model):
    for metric in model.metrics:
        metric.reset_state()


def _result_names(model):
    names = []
    for metric in model.metrics:
        named = getattr(metric, "named_metrics", None)
        if named is not None:
            names.extend(named())
        else:
            names.append(metric.name)
    return names


def _current_logs(model, runner):
    """Logs after a run: the model's metrics, or a custom step's own logs (Keras's rule)."""
    step_logs = runner.last_logs
    results = logs_lib.metric_results(model)
    if step_logs is not None and set(step_logs) != set(results):
        return logs_lib.pythonify(step_logs)
    return logs_lib.pythonify(results)


def _batch_logs(model, runner):
    if runner.last_logs is not None:
        step_logs = runner.last_logs
        return logs_lib.LazyLogs(lambda: step_logs, list(step_logs))
    if runner.result_names is None:  # fixed once the first batch has built the metrics
        runner.result_names = _result_names(model)
    return logs_lib.LazyLogs(lambda: logs_lib.metric_results(model), runner.result_names)


def _callback_list(callbacks, model, verbose, epochs, steps, add_history=False):
    from kiln.callbacks import CallbackList

    if isinstance(callbacks, CallbackList):
        return callbacks
    return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                        model=model, verbose=verbose, epochs=epochs, steps=steps)


def _ran_out_of_data(what):
    warnings.warn(
        f"Your input ran out of data; interrupting {what}. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches (or use a "
        "DataLoader, which starts a new pass each epoch).", stacklevel=4)


def _should_eval(epoch, validation_freq):
    epoch += 1
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        return epoch % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)):
        return epoch in validation_freq
    raise ValueError(
        "Expected `validation_freq` to be a list or int. Received: "
        f"validation_freq={validation_freq!r} of the type {type(validation_freq).__name__}."
    )


def _resume_point(model, initial_epoch):
    """`(epoch, step)` to start at: a callback (BackupAndRestore) may set
    `model._initial_epoch` / `model._initial_step` in `on_train_begin` to resume a run; the
    first `step` batches of that epoch are then drawn from the data but not trained on."""
    epoch = model.__dict__.pop("_initial_epoch", None)
    step = model.__dict__.pop("_initial_step", None)
    return (initial_epoch if epoch is None else int(epoch)), int(step or 0)


# -- fit ----------------------------------------------------------------------------------
def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
        validation_batch_size=None, validation_freq=1):
    assert_compiled(model, "fit")
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = data_adapter.train_validation_split(
            (x, y, sample_weight), validation_split)
    device = model_device(model)
    data = data_adapter.make_iterator(x, y, sample_weight, batch_size, steps_per_epoch,
                                      shuffle, class_weight, model, device)
    val_data = None
    if validation_data is not None:
        if data_adapter.is_iterable_source(validation_data):
            vx, vy, vsw = validation_data, None, None
        else:
            vx, vy, vsw = data_adapter.unpack_x_y_sample_weight(validation_data)
        val_data = data_adapter.make_iterator(vx, vy, vsw, validation_batch_size or batch_size,
                                              validation_steps, False, None, model, device)
    callbacks = _callback_list(callbacks, model, verbose, epochs, data.num_batches,
                               add_history=True)
    runner = runner_for(model)
    runner.start()
    model.stop_training = False
    callbacks.on_train_begin()
    initial_epoch, initial_step = _resume_point(model, initial_epoch)
    training_logs = None
    begin_hook = callbacks.wants("on_train_batch_begin")
    end_hook = callbacks.wants("on_train_batch_end")
    for epoch in range(initial_epoch, epochs):
        reset_metrics(model)
        callbacks.on_epoch_begin(epoch)
        model.train()
        steps = 0
        skip = initial_step if epoch == initial_epoch else 0
        for step, (xb, yb, swb) in enumerate(data):
            if step < skip:  # already trained before an interruption (BackupAndRestore)
                steps += 1
                continue
            if begin_hook:
                callbacks.on_train_batch_begin(step)
            runner.train_step(xb, yb, swb)
            steps += 1
            if end_hook:
                callbacks.on_train_batch_end(step, _batch_logs(model, runner))
            if model.stop_training:
                break
        model.eval()
        if steps == 0 or getattr(data, "exhausted", False):
            _ran_out_of_data("training")
            if steps == 0:
                break
        epoch_logs = _current_logs(model, runner)
        if val_data is not None and _should_eval(epoch, validation_freq):
            val_logs = _evaluate_loop(model, runner, val_data, callbacks)
            epoch_logs.update((f"val_{k}", v) for k, v in val_logs.items())
        callbacks.on_epoch_end(epoch, epoch_logs)
        training_logs = epoch_logs
        if model.stop_training or getattr(data, "exhausted", False):
            break
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and epochs > 0 and hasattr(optimizer, "finalize_variable_values"):
        optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs=training_logs)
    return getattr(model, "history", None)


# -- evaluate -------------------------------------------------------------------------------
def _evaluate_loop(model, runner, data, callbacks):
    model.eval()
    model.stop_evaluating = False
    runner.start()
    callbacks.on_test_begin()
    reset_metrics(model)
    begin_hook = callbacks.wants("on_test_batch_begin")
    end_hook = callbacks.wants("on_test_batch_end")
    for step, (xb, yb, swb) in enumerate(data):
        if begin_hook:
            callbacks.on_test_batch_begin(step)
        runner.test_step(xb, yb, swb)
        if end_hook:
            callbacks.on_test_batch_end(step, _batch_logs(model, runner))
        if model.stop_evaluating:
            break
    logs = _current_logs(model, runner)
    callbacks.on_test_end(logs)
    return logs


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             steps=None, callbacks=None, return_dict=False, **kwargs):
    if kwargs:
        raise ValueError(f"Arguments not recognized by evaluate(): {sorted(kwargs)}")
    assert_compiled(model, "evaluate")
    data = data_adapter.make_iterator(x, y, sample_weight, batch_size, steps, False, None,
                                      model, model_device(model))
    callbacks = _callback_list(callbacks, model, verbose, 1, data.num_batches)
    logs = _evaluate_loop(model, runner_for(model), data, callbacks)
    return logs if return_dict else logs_lib.flatten_in_order(model, logs)


# -- predict -------------------------------------------------------------------------------
def _to_numpy(structure):
    if isinstance(structure, torch.Tensor):
        return torch.Tensor.numpy(structure.detach().cpu())
    if isinstance(structure, (list, tuple)):
        return type(structure)(_to_numpy(s) for s in structure)
    if isinstance(structure, dict):
        return {k: _to_numpy(v) for k, v in structure.items()}
    return np.asarray(structure)


def _concatenate(batches):
    first = batches[0]
    if isinstance(first, torch.Tensor):
        if first.requires_grad:
            batches = [b.detach() for b in batches]
        return torch.cat(batches) if len(batches) > 1 else batches[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_concatenate([b[i] for b in batches]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concatenate([b[k] for b in batches]) for k in first}
    return np.concatenate([np.asarray(b) for b in batches])


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    data = data_adapter.make_iterator(x, None, None, batch_size, steps, False, None, model,
                                      model_device(model))
    callbacks = _callback_list(callbacks, model, verbose, 1, data.num_batches)
    runner = runner_for(model)
    model.eval()
    model.stop_predicting = False
    callbacks.on_predict_begin()
    begin_hook = callbacks.wants("on_predict_batch_begin")
    end_hook = callbacks.wants("on_predict_batch_end")
    outputs = []
    with torch.no_grad():
        for step, (xb, _, _) in enumerate(data):
            if begin_hook:
                callbacks.on_predict_batch_begin(step)
            out = runner.predict_step(xb)
            outputs.append(out)
            if end_hook:
                callbacks.on_predict_batch_end(step, {"outputs": out})
            if model.stop_predicting:
                break
    callbacks.on_predict_end()
    if not outputs:
        raise ValueError(
            "Unexpected result of `predict()`: no batches were processed. The input is "
            "empty; check that `x` contains data."
        )
    return _to_numpy(_concatenate(outputs))


# -- single batches --------------------------------------------------------------------------
def _single_batch(model, x, y=None, sample_weight=None, class_weight=None):
    data = data_adapter.make_iterator(x, y, sample_weight, None, None, False, class_weight,
                                      model, model_device(model))
    if isinstance(data, data_adapter.ArrayIterator):
        data.batch_size = max(data.num_samples, 1)
    for batch in data:
        return batch
    raise ValueError("The batch given is empty; pass at least one sample.")


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None,
                   return_dict=False):
    assert_compiled(model, "train_on_batch")
    xb, yb, swb = _single_batch(model, x, y, sample_weight, class_weight)
    runner = runner_for(model)
    runner.start()
    reset_metrics(model)
    model.train()
    try:
        runner.train_step(xb, yb, swb)
    finally:
        model.eval()
    logs = _current_logs(model, runner)
    return logs if return_dict else logs_lib.flatten_in_order(model, logs)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    assert_compiled(model, "test_on_batch")
    xb, yb, swb = _single_batch(model, x, y, sample_weight)
    runner = runner_for(model)
    runner.start()
    reset_metrics(model)
    model.eval()
    runner.test_step(xb, yb, swb)
    logs = _current_logs(model, runner)
    return logs if return_dict else logs_lib.flatten_in_order(model, logs)


def predict_on_batch(model, x):
    xb, _, _ = _single_batch(model, x)
    model.eval()
    return _to_numpy(runner_for(model).predict_step(xb))
