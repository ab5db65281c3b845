"""`StepRunner`: one training, evaluation or prediction step, kept lean.

The per-step work is what a hand-written torch loop does: forward with `training=True`,
the compiled loss plus `model.losses`, `loss.backward()`, `optimizer.apply(grads, vars)`
and gradients reset to None. Metric state accumulates in tensors; nothing waits for
the device unless logs are read. Everything that does not change between steps (the
trainable variables, output names, the forward function) is worked out once.
"""

import warnings

import torch

from kiln.core import call_context
from kiln.trainers import structures
from kiln.trainers.compile_loss import accumulate_mean, mean_state


def _pack_data(x, y, sample_weight):
    """A batch as Keras hands it to a custom step: `(x,)`, `(x, y)` or `(x, y, sw)`."""
    if sample_weight is not None:
        return x, y, sample_weight
    return (x, y) if y is not None else (x,)


def _custom(model, name):
    """The model's own `train_step`/`test_step`/`predict_step`, if its class defines one."""
    return getattr(model, name, None) if hasattr(type(model), name) else None


class StepRunner:
    """Runs steps for one compiled model (rebuilt when the model is recompiled)."""

    def __init__(self, model):
        self.model = model
        self.compile_loss = getattr(model, "_compile_loss", None)
        self.compile_metrics = getattr(model, "_compile_metrics", None)
        self.loss_tracker = getattr(model, "_loss_tracker", None)
        tracker = self.loss_tracker
        self._tracker_state = mean_state(tracker) if tracker is not None else None
        self.output_names = structures.model_output_names(model)
        self._names = None
        self._variables = None
        self._checked = False
        self._has_training_arg = getattr(type(model), "_call_has_training", False)
        self._forward = self._make_forward(model)
        self._custom_train = _custom(model, "train_step")
        self._custom_test = _custom(model, "test_step")
        self._custom_predict = _custom(model, "predict_step")
        self.last_logs = None
        self.result_names = None

    # -- set-up --------------------------------------------------------------------------
    def _make_forward(self, model):
        if getattr(model, "jit_compile", False) is True:
            compiled = getattr(model, "_kiln_compiled_forward", None)
            if compiled is None:
                compiled = torch.compile(model)
                object.__setattr__(model, "_kiln_compiled_forward", compiled)
            return compiled
        return model

    def start(self):
        """Called at the start of a fit/evaluate run: the trainable set may have changed."""
        self._variables = None
        self._checked = False
        self.last_logs = None
        self.result_names = None

    def _call(self, x, training):
        if self._has_training_arg:
            return self._forward(x, training=training)
        ctx = call_context.get()
        previous = ctx.training
        ctx.training = training
        try:
            return self._forward(x)
        finally:
            ctx.training = previous

    def trainable_variables(self):
        if self._variables is None:
            self._variables = list(self.model.trainable_variables)
        return self._variables

    # -- shared pieces -------------------------------------------------------------------
    def _flat(self, y, y_pred, sample_weight):
        if type(y_pred) is not torch.Tensor and not isinstance(y_pred, torch.Tensor):
            flat_pred, names = structures.flatten_outputs(y_pred, self.output_names)
        else:
            flat_pred = [y_pred]
            names = self._names or structures.flatten_outputs(y_pred, self.output_names)[1]
        self._names = names
        if isinstance(y, torch.Tensor) and len(names) == 1:
            flat_true = [y]
        else:
            flat_true = structures.align(y, names, "target")
        if sample_weight is None:
            flat_sw = [None] * len(names)
        else:
            flat_sw = structures.align(sample_weight, names, "sample_weight")
        return flat_true, flat_pred, flat_sw, names

    def compute_loss(self, y, y_pred, sample_weight):
        """The weighted compiled loss plus `model.losses` (per-output trackers updated).

        Returns `(total, flat_true, flat_pred, flat_sw, batch_size)`.
        """
        model = self.model
        flat_true, flat_pred, flat_sw, names = self._flat(y, y_pred, sample_weight)
        batch_size = int(flat_pred[0].shape[0]) if flat_pred[0].dim() else 1
        first = not self._checked
        if first:
            self._build(flat_true, flat_pred, names)
        total = None
        if self.compile_loss is not None:
            if y is None:
                raise ValueError(
                    f"Target data is missing. Model '{model.name}' was compiled with "
                    f"loss={model.loss!r}, so it expects targets: pass `y` to fit()/evaluate(), "
                    "or yield `(x, y)` batches."
                )
            total = self.compile_loss(flat_true, flat_pred, flat_sw, batch_size, check=first)
        extra = model.losses
        if extra:
            extra_total = torch.stack([torch.as_tensor(v, dtype=torch.float32).sum()
                                       for v in extra]).sum()
            total = extra_total if total is None else total + extra_total
        if total is None:
            raise ValueError(
                f"No loss to compute for model '{model.name}'. Provide a `loss` argument in "
                "`compile()`, or add losses in the model with `add_loss()`."
            )
        self._checked = True
        return total, flat_true, flat_pred, flat_sw, batch_size

    def _total_loss(self, y, y_pred, sample_weight):
        """`compute_loss()`, also feeding the `loss` tracker (weighted by batch size)."""
        total, flat_true, flat_pred, flat_sw, batch_size = self.compute_loss(
            y, y_pred, sample_weight)
        if self._tracker_state is not None:
            self._tracker_state[0].add_(total.detach(), alpha=batch_size)
            self._tracker_state[1].add_(batch_size)
        elif self.loss_tracker is not None:
            accumulate_mean(self.loss_tracker, total, batch_size)
        return total, flat_true, flat_pred, flat_sw

    def _build(self, flat_true, flat_pred, names):
        if self.compile_loss is not None and not self.compile_loss.built:
            self.compile_loss.build(flat_true, flat_pred, names)
        if self.compile_metrics is not None and not self.compile_metrics.built:
            self.compile_metrics.build(flat_true, flat_pred, names)

    def update_metrics(self, y, y_pred, sample_weight):
        """Updates the compiled metrics from (possibly nested) targets and predictions."""
        flat_true, flat_pred, flat_sw, _ = self._flat(y, y_pred, sample_weight)
        self._update_metrics(flat_true, flat_pred, flat_sw)

    def _update_metrics(self, flat_true, flat_pred, flat_sw):
        metrics = self.compile_metrics
        if metrics is None:
            return
        if not metrics.built:
            metrics.build(flat_true, flat_pred, self._names)
        metrics.update_flat(flat_true, [p.detach() for p in flat_pred], flat_sw)

    # -- steps ---------------------------------------------------------------------------
    def train_step(self, x, y, sample_weight):
        if self._custom_train is not None:
            self.last_logs = self._custom_train(_pack_data(x, y, sample_weight))
            return
        y_pred = self._call(x, True)
        loss, flat_true, flat_pred, flat_sw = self._total_loss(y, y_pred, sample_weight)
        optimizer = self.model.optimizer
        variables = self.trainable_variables()
        if variables:
            if optimizer.loss_scale_factor is not None:
                loss = optimizer.scale_loss(loss)
            loss.backward()
            grads = [v.value.grad for v in variables]
            optimizer.apply(grads, variables)
            for v in variables:
                v.value.grad = None
        elif not getattr(self, "_warned_no_weights", False):
            self._warned_no_weights = True
            warnings.warn("The model does not have any trainable weights.", stacklevel=4)
        self._update_metrics(flat_true, flat_pred, flat_sw)

    def test_step(self, x, y, sample_weight):
        if self._custom_test is not None:
            self.last_logs = self._custom_test(_pack_data(x, y, sample_weight))
            return
        with torch.no_grad():
            y_pred = self._call(x, False)
            _, flat_true, flat_pred, flat_sw = self._total_loss(y, y_pred, sample_weight)
            self._update_metrics(flat_true, flat_pred, flat_sw)

    def predict_step(self, x):
        if self._custom_predict is not None:
            return self._custom_predict((x,))
        if not torch.is_grad_enabled():  # predict() disables gradients for the whole loop
            return self._call(x, False)
        with torch.no_grad():
            return self._call(x, False)
