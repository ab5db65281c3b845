"""`CompileLoss`: the loss given to `compile()`, applied output by output.

Forms accepted (Keras 3's): one loss for every output; a list with one loss per output
(or several losses summed on a single output); a dict keyed by output name. Each loss
may be a name, a function `fn(y_true, y_pred)` or a `kiln.losses.Loss`, and `None`
leaves an output without loss. `loss_weights` (a number, list or dict) scales each
output's loss in the total. With several losses, one `Mean` tracker per output records
its unweighted loss as `<output>_loss`.
"""

import numbers

import torch

from kiln.trainers import label_checks

_CROSSENTROPY_ALIASES = ("crossentropy", "ce")


def object_name(obj):
    """The name Keras shows for a loss or metric object or function."""
    name = getattr(obj, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(obj, "__name__", None)
    if isinstance(name, str):
        return name
    from kiln.utils.naming import to_snake_case

    return to_snake_case(type(obj).__name__)


def check_loss_identifiers(loss):
    """Resolves every loss name now, so that a typo fails in `compile()` with the known names."""
    from kiln import losses

    if isinstance(loss, dict):
        for value in loss.values():
            check_loss_identifiers(value)
    elif isinstance(loss, (list, tuple)):
        for value in loss:
            check_loss_identifiers(value)
    elif isinstance(loss, str) and loss.lower() not in _CROSSENTROPY_ALIASES:
        losses.get(loss)
    elif loss is not None and not isinstance(loss, str) and not callable(loss) \
            and not isinstance(loss, dict):
        raise ValueError(
            f"Could not interpret loss identifier: {loss!r}. Expected a loss name such as "
            "'mse', a function fn(y_true, y_pred) or a `kiln.losses.Loss` instance."
        )


def resolve_loss(identifier, y_true, y_pred):
    """A `Loss` object for `identifier`, choosing the cross-entropy kind for "ce"."""
    from kiln import losses

    if isinstance(identifier, str) and identifier.lower() in _CROSSENTROPY_ALIASES:
        binary, sparse = label_checks.binary_or_sparse(y_true, y_pred)
        fn = (losses.binary_crossentropy if binary else
              losses.sparse_categorical_crossentropy if sparse else losses.categorical_crossentropy)
    else:
        fn = losses.get(identifier)
    if isinstance(fn, losses.Loss):
        return fn
    name = identifier if isinstance(identifier, str) else object_name(fn)
    return losses.LossFunctionWrapper(fn, name=name)


class CompileLoss:
    """Computes the total compiled loss of a batch (see the module docstring)."""

    name = "compile_loss"

    def __init__(self, loss, loss_weights=None, output_names=None):
        if loss_weights is not None and not isinstance(
                loss_weights, (list, tuple, dict, numbers.Number)):
            raise ValueError(
                "Expected `loss_weights` argument to be a float (single output case) or a "
                "list, tuple, or dict (multiple output case). Received instead: "
                f"loss_weights={loss_weights!r} of type {type(loss_weights).__name__}"
            )
        check_loss_identifiers(loss)
        self._user_loss = loss
        self._user_loss_weights = loss_weights
        self.output_names = output_names
        self.built = False
        self.metrics = []
        self._entries = []

    # -- build ---------------------------------------------------------------------------
    def build(self, y_true, y_pred, names):
        specs = self._per_output(self._user_loss, names, "loss")
        weights = self._per_output_weights(names, specs)
        entries, used = [], {}
        for (index, spec), weight in zip(specs, weights):
            if spec is None:
                continue
            loss = resolve_loss(spec, y_true[index], y_pred[index])
            name = names[index] or loss.name
            if name in used:
                used[name] += 1
                name = f"{name}_{used[name] - 1}"
            else:
                used[name] = 1
            entries.append([index, loss, weight, name, None])
        if not entries:
            raise ValueError(
                f"The compiled loss {self._user_loss!r} gives no loss for any of the model's "
                f"outputs {names}. Give at least one output a loss."
            )
        if len(entries) > 1:
            from kiln import metrics

            for entry in entries:
                entry[4] = metrics.Mean(name=f"{entry[3]}_loss")
            self.metrics = [entry[4] for entry in entries]
        self._entries = entries
        self.built = True

    def _per_output(self, spec, names, what):
        n = len(names)
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in names]
            if unknown and n == 1 and len(spec) == 1:
                return [(0, next(iter(spec.values())))]
            if unknown:
                raise ValueError(
                    f"Expected keys {names} in {what} dict, but found {what}.keys()="
                    f"{list(spec)}. Key the dict by the model's output names."
                )
            return [(i, spec.get(name)) for i, name in enumerate(names)]
        if isinstance(spec, (list, tuple)):
            if len(spec) == n:
                return list(enumerate(spec))
            if n == 1:
                return [(0, s) for s in spec]
            raise ValueError(
                f"The model has {n} outputs {names}, but `{what}` is a list of {len(spec)} "
                f"entries. Give one entry per output (None for no {what}) or a dict keyed "
                "by output name."
            )
        return [(i, spec) for i in range(n)]

    def _per_output_weights(self, names, specs):
        weights = self._user_loss_weights
        if weights is None:
            return [None] * len(specs)
        if isinstance(weights, numbers.Number):
            return [float(weights)] * len(specs)
        if isinstance(weights, dict):
            unknown = [k for k in weights if k not in names]
            if unknown:
                raise ValueError(
                    f"`loss_weights` has keys {unknown} that are not outputs of the model. "
                    f"Expected keys among {names}."
                )
            return [weights.get(names[index]) for index, _ in specs]
        if len(weights) == len(specs):
            return list(weights)
        if len(weights) == len(names):
            return [weights[index] for index, _ in specs]
        raise ValueError(
            f"`loss_weights` must match the number of losses, got {len(specs)} losses and "
            f"{len(weights)} weights."
        )

    # -- call ----------------------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight, batch_size, check=False):
        """The weighted total over outputs; also updates the per-output trackers.

        `check=True` (first batch) validates label shapes and explains failures.
        """
        total = None
        for index, loss, weight, name, tracker in self._entries:
            y_t, y_p, s_w = y_true[index], y_pred[index], sample_weight[index]
            if check:
                value = label_checks.checked_loss(loss, name, y_t, y_p, s_w)
            else:
                value = loss(y_t, y_p, s_w)
            if tracker is not None:
                accumulate_mean(tracker, value, batch_size)
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        return total


def accumulate_mean(metric, value, count):
    """`metric.update_state(value, sample_weight=count)` for a scalar, without overhead."""
    fast = mean_state(metric)
    if fast is None:
        metric.update_state(value, sample_weight=count)
        return
    total, counter = fast
    # In-place on non-trainable state with a detached value: nothing for autograd to record.
    total.add_(value.detach(), alpha=count)
    counter.add_(count)


def mean_state(metric):
    """`(total, count)` tensors of a plain `kiln.metrics.Mean`, or None for other metrics."""
    from kiln.metrics import Mean

    if type(metric).update_state is not Mean.update_state:
        return None
    total, count = metric.total.value, metric.count.value
    if total.dtype != torch.float32 or count.dtype != torch.float32:
        return None
    return total, count
