import inspect
import subprocess
import sys

import pytest

from kiln import losses, metrics
from kiln.losses._oracle_testlib import keras


def test_every_keras_name_resolves_to_the_same_class_and_config():
    from keras.src.metrics import ALL_OBJECTS_DICT

    needs_args = {"Metric", "MeanMetricWrapper", "IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
                  "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
                  "SpecificityAtSensitivity"}
    for name, keras_cls in ALL_OBJECTS_DICT.items():
        assert name in metrics.ALL_OBJECTS_DICT, name
        assert metrics.ALL_OBJECTS_DICT[name].__name__ == keras_cls.__name__, name
        if keras_cls.__name__ in needs_args:
            continue
        ours, theirs = metrics.get(name), keras.metrics.get(name)
        assert type(ours).__name__ == type(theirs).__name__, name
        ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
        ours_cfg.pop("name"), theirs_cfg.pop("name")  # carry per-process counters
        assert ours_cfg == theirs_cfg, name


def test_get_behaves_like_keras():
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert isinstance(metrics.get("acc"), metrics.Accuracy)  # kiln alias
    assert metrics.get("mse").name == "mean_squared_error"
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    assert isinstance(metrics.get("sparse_categorical_accuracy"), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("f1_score"), metrics.F1Score)
    assert metrics.get(None) is None
    fn = metrics.sparse_categorical_accuracy
    assert metrics.get(fn) is fn
    instance = metrics.AUC()
    assert metrics.get(instance) is instance
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="Unknown metric identifier: 'accuracyy'") as info:
        metrics.get("accuracyy")
    assert "sparse_categorical_accuracy" in str(info.value)
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get(3)


def test_public_names_cover_keras():
    assert all(hasattr(metrics, n) for n in metrics.__all__)
    assert all(inspect.isclass(c) for c in metrics.ALL_OBJECTS.values())
    keras_public = {n for n in dir(keras.metrics) if not n.startswith("_")}
    assert not keras_public - set(metrics.__all__), sorted(keras_public - set(metrics.__all__))


def test_loss_functions_exported_from_metrics_are_the_loss_functions():
    assert metrics.mean_squared_error is losses.mean_squared_error
    assert metrics.binary_crossentropy is losses.binary_crossentropy


def test_imports_stay_light():
    code = ("import sys, kiln.losses, kiln.metrics; heavy = [m for m in ('keras', 'scipy', "
            "'pandas', 'h5py', 'sklearn', 'onnx', 'safetensors') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


SERIALIZED = [
    lambda lib: lib.AUC(curve="PR", num_thresholds=50, name="auc_pr"),
    lambda lib: lib.Precision(thresholds=[0.3, 0.6], top_k=2, name="p"),
    lambda lib: lib.SparseCategoricalAccuracy(name="acc"),
    lambda lib: lib.F1Score(average="macro", threshold=0.4),
    lambda lib: lib.MeanIoU(num_classes=3, name="miou"),
    lambda lib: lib.MeanMetricWrapper((losses if lib is metrics else keras.losses).mean_squared_error,
                                      name="w"),
    lambda lib: lib.sparse_categorical_accuracy,
]


@pytest.mark.parametrize("make", SERIALIZED)
def test_serialize_matches_keras_and_round_trips(make):
    ours, theirs = make(metrics), make(keras.metrics)
    config = metrics.serialize(ours)
    keras_config = keras.metrics.serialize(theirs)
    if isinstance(config.get("config"), dict) and "name" not in getattr(ours, "_fn_kwargs", {}):
        config["config"].setdefault("name", None)
        keras_config["config"]["name"] = config["config"]["name"]  # auto names carry counters
    assert config == keras_config
    back = metrics.deserialize(keras_config)
    assert metrics.serialize(back) == config
    # (keras.metrics.deserialize resolves function names to classes; use the generic loader)
    assert keras.metrics.serialize(keras.saving.deserialize_keras_object(config)) == keras_config


def test_mean_metric_wrapper_round_trip_keeps_fn_and_kwargs():
    m = metrics.MeanMetricWrapper(losses.huber, name="h", delta=0.2)
    rebuilt = metrics.MeanMetricWrapper.from_config(m.get_config())
    assert rebuilt._fn is losses.huber and rebuilt._fn_kwargs == {"delta": 0.2}
    assert rebuilt.name == "h" and rebuilt._direction == "down"
