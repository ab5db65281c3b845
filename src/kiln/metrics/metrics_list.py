"""`MetricsList`: a named group of metrics for one model output (Keras's compile helper)."""

from kiln.metrics.metric import Metric


class MetricsList(Metric):
    """Updates and resets a list of metrics together; `result()` is a dict by metric name.

    Keras 3 uses a class of this name internally when it compiles metrics; kiln offers it
    so configs naming it (as the serialization API guide shows) can be deserialized.

    Example:
        >>> group = kiln.metrics.MetricsList([kiln.metrics.Mean()], name="metrics_list")
    """

    _keras_envelope = ("keras.src.trainers.compile_utils", "MetricsList", "MetricsList")

    def __init__(self, metrics=(), name="metrics_list", output_name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        from kiln import metrics as metrics_module

        self.metrics = [metrics_module.get(m) if not isinstance(m, Metric) else m
                        for m in (metrics or [])]
        self.output_name = output_name

    def update_state(self, y_true, y_pred, sample_weight=None):
        for metric in self.metrics:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self):
        return {m.name: m.result() for m in self.metrics}

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()

    def get_config(self):
        from kiln.saving import serialize_keras_object

        return {"metrics": [serialize_keras_object(m) for m in self.metrics],
                "name": self.name, "output_name": self.output_name}

    @classmethod
    def from_config(cls, config):
        from kiln.saving import deserialize_keras_object

        config = dict(config)
        config["metrics"] = [deserialize_keras_object(m) for m in config.get("metrics", [])]
        return cls(**config)
