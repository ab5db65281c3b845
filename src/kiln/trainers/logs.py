"""Turning metric results into the `logs` dicts callbacks and `History` see.

Keras 3 conventions: keys sorted alphabetically, values Python floats, metric results
that are dicts (the compiled metrics) merged into the top level. Reading results is the
only place training waits for the device, so all scalars are fetched with one transfer.
"""

from collections.abc import Mapping

import numpy as np
import torch


def metric_results(model):
    """`{name: tensor}` for every metric in `model.metrics` (dict results merged)."""
    results = {}
    for metric in model.metrics:
        value = metric.result()
        if isinstance(value, dict):
            results.update(value)
        else:
            results[metric.name] = value
    return results


def pythonify(logs):
    """Sorted copy of `logs` with tensors turned into floats (or arrays when not scalar)."""
    flat = {}
    _merge(flat, logs)
    keys = sorted(flat)
    scalars = [k for k in keys if isinstance(flat[k], torch.Tensor) and flat[k].numel() == 1]
    if scalars:
        # One host transfer for all scalar results.
        stacked = torch.stack([flat[k].detach().reshape(()).to(torch.float64).cpu()
                               for k in scalars]).tolist()
        flat.update(zip(scalars, stacked))
    out = {}
    for key in keys:
        value = flat[key]
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        elif isinstance(value, np.ndarray) and value.ndim == 0:
            value = float(value)
        elif isinstance(value, (np.floating, np.integer)):
            value = float(value)
        out[key] = value
    return out


def _merge(target, logs):
    for key, value in (logs or {}).items():
        if isinstance(value, dict):
            _merge(target, value)
        else:
            target[key] = value


class LazyLogs(Mapping):
    """Batch logs computed on first read.

    The trainer hands these to callbacks after each batch; kiln's own callbacks read
    them only when they need the values (a progress-bar redraw), so most batches never
    wait for the device. `materialize()` returns the plain dict other callbacks get.
    """

    __slots__ = ("_compute", "_keys", "_values")

    def __init__(self, compute, keys):
        self._compute = compute
        self._keys = keys
        self._values = None

    def materialize(self):
        if self._values is None:
            self._values = pythonify(self._compute())
        return self._values

    def __getitem__(self, key):
        return self.materialize()[key]

    def __iter__(self):
        return iter(self.materialize())

    def __len__(self):
        return len(self._keys) if self._values is None else len(self._values)

    def __contains__(self, key):
        if self._values is None:
            return key in self._keys
        return key in self._values

    def __repr__(self):
        return repr(self.materialize())


def flatten_in_order(model, logs):
    """`evaluate()`'s list result: `model.metrics` order first, then remaining keys sorted.

    Compiled metrics are looked up by their own names (not the per-output log names),
    exactly as Keras 3 does; one value is returned as a scalar.
    """
    names = []
    for metric in model.metrics:
        inner = getattr(metric, "named_metrics", None)
        if inner is not None:
            names.extend(m.name for m in metric.metrics)
        else:
            names.append(metric.name)
    results = [logs[name] for name in names if name in logs]
    results.extend(logs[key] for key in sorted(logs) if key not in names)
    return results[0] if len(results) == 1 else results
