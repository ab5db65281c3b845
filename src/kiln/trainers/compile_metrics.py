"""`CompileMetrics`: the `metrics=`/`weighted_metrics=` of `compile()` as one Metric.

`model.metrics` holds it after the loss tracker, named `compile_metrics`; its `result()`
is a dict whose keys become log names: the metric names for a single output
(`accuracy`, `mae`, ...) and `<output>_<metric>` for several outputs. Metrics are
created on the first batch, when the shapes of targets and predictions are known
(`"accuracy"` becomes binary, sparse categorical or categorical accuracy by shape).
"""

import torch

from kiln.metrics import Metric
from kiln.trainers import label_checks, structures
from kiln.trainers.compile_loss import object_name

_ACCURACY = ("accuracy", "acc")
_CROSSENTROPY = ("crossentropy", "ce")


def check_metric_identifiers(metrics, argument):
    """Resolves metric names now so that a typo fails in `compile()`."""
    from kiln import metrics as metrics_module

    if metrics is None:
        return
    if not isinstance(metrics, (list, tuple, dict)):
        raise ValueError(
            f"Expected `{argument}` argument to be a list, tuple, or dict. Received instead: "
            f"{argument}={metrics!r} of type {type(metrics).__name__}. Wrap it in a list: "
            f"{argument}=[{metrics!r}]."
        )
    leaves = metrics.values() if isinstance(metrics, dict) else metrics
    for leaf in leaves:
        if isinstance(leaf, (list, tuple)):
            check_metric_identifiers(leaf, argument)
        elif isinstance(leaf, str) and leaf.lower() not in _ACCURACY + _CROSSENTROPY:
            metrics_module.get(leaf)


def resolve_metric(identifier, y_true, y_pred):
    """A `Metric` for `identifier`, named as Keras names it (the string itself, if a string)."""
    from kiln import metrics as m

    if identifier is None:
        raise ValueError("Expected a metric, received `None`.")
    key = identifier.lower() if isinstance(identifier, str) else None
    if key in _ACCURACY or key in _CROSSENTROPY:
        binary, sparse = label_checks.binary_or_sparse(y_true, y_pred)
        if key in _ACCURACY:
            cls = m.BinaryAccuracy if binary else (
                m.SparseCategoricalAccuracy if sparse else m.CategoricalAccuracy)
        else:
            cls = m.BinaryCrossentropy if binary else (
                m.SparseCategoricalCrossentropy if sparse else m.CategoricalCrossentropy)
        metric = cls(name=identifier)
    else:
        metric = m.get(identifier)
    name = identifier if isinstance(identifier, str) else object_name(metric)
    if not isinstance(metric, Metric):
        metric = m.MeanMetricWrapper(metric, name=name)
    metric.name = name
    return metric


class CompileMetrics(Metric):
    """All compiled metrics of a model (see the module docstring)."""

    def __init__(self, metrics, weighted_metrics, output_names=None):
        super().__init__(name="compile_metrics")
        check_metric_identifiers(metrics, "metrics")
        check_metric_identifiers(weighted_metrics, "weighted_metrics")
        self._user_metrics = metrics
        self._user_weighted_metrics = weighted_metrics
        self.output_names = output_names
        self.built = False
        self._plain = []      # per output: list of metrics (no sample weights)
        self._weighted = []   # per output: list of metrics (with sample weights)
        self._log_names = []  # (log name, metric) in result order

    # -- build ---------------------------------------------------------------------------
    def build(self, y_true, y_pred, names):
        self._plain = self._build_set(self._user_metrics, y_true, y_pred, names, "metrics")
        self._weighted = self._build_set(self._user_weighted_metrics, y_true, y_pred, names,
                                         "weighted_metrics")
        self._log_names = self._name_results(names)
        self.built = True

    def _build_set(self, spec, y_true, y_pred, names, argument):
        n = len(names)
        if not spec:
            return [[] for _ in range(n)]
        if n == 1:
            flat = _flatten(spec.values() if isinstance(spec, dict) else spec)
            return [[resolve_metric(s, y_true[0], y_pred[0]) for s in flat]]
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in names]
            if unknown:
                raise ValueError(
                    f"Invalid `{argument}`: keys {unknown} are not outputs of the model. "
                    f"Key the dict by the output names {names}. Received: {argument}={spec!r}"
                )
            per_output = [spec.get(name) for name in names]
        elif len(spec) == n:
            per_output = list(spec)
        else:
            raise ValueError(
                f"Invalid `{argument}`. For a model with {n} outputs {names}, `{argument}` "
                "should be a dict keyed by output name or a list with one entry (a metric "
                f"or a list of metrics) per output. Received: {argument}={spec!r}"
            )
        out = []
        for i, entry in enumerate(per_output):
            flat = [] if entry is None else _flatten(
                entry if isinstance(entry, (list, tuple)) else [entry])
            out.append([resolve_metric(s, y_true[i], y_pred[i]) for s in flat])
        return out

    def _name_results(self, names):
        prefix = [f"{name}_" if len(names) > 1 and name else "" for name in names]
        log_names, seen = [], {}
        for i, metrics in enumerate(self._plain):
            for metric in metrics:
                name = prefix[i] + metric.name
                if name in seen:
                    seen[name] += 1
                    name = f"{name}_{seen[name] - 1}"
                else:
                    seen[name] = 1
                log_names.append((name, metric))
        for i, metrics in enumerate(self._weighted):
            for metric in metrics:
                name = prefix[i] + metric.name
                if name in seen:
                    name = f"{prefix[i]}weighted_{metric.name}"
                    if name in seen:
                        seen[name] += 1
                        name = f"{name}_{seen[name] - 1}"
                    else:
                        seen[name] = 1
                else:
                    seen[name] = 1
                log_names.append((name, metric))
        return log_names

    # -- Metric API ------------------------------------------------------------------------
    @property
    def metrics(self):
        """The individual metric objects (not the loss trackers), in result order."""
        return [m for _, m in self._log_names]

    def named_metrics(self):
        """`{log name: metric}` for every compiled metric."""
        return dict(self._log_names)

    @property
    def variables(self):
        return [v for m in self.metrics for v in m.variables]

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Updates every metric from targets and predictions as the model produces them
        (a tensor, a list or a dict), as Keras's `CompileMetrics.update_state` does."""
        flat_pred, names = structures.flatten_outputs(y_pred, self.output_names)
        flat_true = structures.align(y_true, names, "target")
        flat_sw = structures.align(sample_weight, names, "sample_weight")
        if not self.built:
            self.build(flat_true, flat_pred, names)
        self.update_flat(flat_true, flat_pred, flat_sw)

    def update_flat(self, y_true, y_pred, sample_weight=None):
        """Updates every metric; arguments are flat lists aligned with the outputs."""
        with torch.no_grad():
            for i, metrics in enumerate(self._plain):
                for metric in metrics:
                    metric.update_state(y_true[i], y_pred[i])
            for i, metrics in enumerate(self._weighted):
                sw = sample_weight[i] if sample_weight is not None else None
                for metric in metrics:
                    metric.update_state(y_true[i], y_pred[i], sample_weight=sw)

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()

    def result(self):
        if not self.built:
            return {}
        return {name: metric.result() for name, metric in self._log_names}

    def get_config(self):
        raise NotImplementedError("CompileMetrics is rebuilt by compile(); it has no config.")


def _flatten(items):
    out = []
    for item in items:
        if isinstance(item, (list, tuple)):
            out.extend(_flatten(item))
        elif item is not None:
            out.append(item)
    return out
