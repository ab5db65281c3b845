"""Every code example of the Keras 3 API page "Serialization utilities", run on kiln.

Source: /work/shared/guides/keras3-serialization-utils-api.zh-Hans.txt. The page's dict
literals are JSON-flavoured (`false`); they are written here as Python (`False`).
"""

import numpy as np
import pytest

import kiln as keras
from kiln import ops
from kiln.saving import (
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

needs = pytest.mark.needs


@needs("serialization")
def test_serialize_and_deserialize_are_inverse():
    # `keras.saving.serialize_keras_object(obj)` is the inverse of
    # `keras.saving.deserialize_keras_object(config, custom_objects=None, safe_mode=True)`.
    obj = keras.layers.Dense(4, activation="relu", name="d")
    config = keras.saving.serialize_keras_object(obj)
    assert isinstance(config, dict)
    assert {"module", "class_name", "config", "registered_name"} <= set(config)

    restored = keras.saving.deserialize_keras_object(config, custom_objects=None, safe_mode=True)
    assert isinstance(restored, keras.layers.Dense)
    assert keras.saving.serialize_keras_object(restored) == config


@needs("serialization")
def test_deserialize_builtin_adam():
    # "the following dictionary represents the built-in Adam optimizer".
    dict_structure = {
        "class_name": "Adam",
        "config": {
            "amsgrad": False,
            "beta_1": 0.8999999761581421,
            "beta_2": 0.9990000128746033,
            "decay": 0.0,
            "epsilon": 1e-07,
            "learning_rate": 0.0010000000474974513,
            "name": "Adam"
        },
        "module": "keras.optimizers",
        "registered_name": None
    }
    # Returns an `Adam` instance identical to the original one.
    optimizer = deserialize_keras_object(dict_structure)

    assert isinstance(optimizer, keras.optimizers.Adam)
    config = optimizer.get_config()
    assert config["name"] == "Adam"
    assert config["amsgrad"] is False
    for key in ("beta_1", "beta_2", "epsilon", "learning_rate"):
        assert config[key] == pytest.approx(dict_structure["config"][key])


@needs("serialization")
def test_deserialize_non_exported_class_by_module_and_class_name():
    # "If the class has no exported Keras namespace, the library tracks it by its `module`
    # and `class_name`". The page elides the config (`"config": {...}`), and Keras 3.15's
    # MetricsList cannot produce one (its get_config raises NotImplementedError), so the
    # config below is the constructor arguments Keras's MetricsList takes.
    dict_structure = {
        "class_name": "MetricsList",
        "config": {"metrics": [], "name": "metrics_list", "output_name": None},
        "module": "keras.trainers.compile_utils",
        "registered_name": "MetricsList"
    }

    # Returns a `MetricsList` instance identical to the original one.
    metrics_list = deserialize_keras_object(dict_structure)

    assert type(metrics_list).__name__ == "MetricsList"
    assert metrics_list.name == "metrics_list"


@needs("serialization")
def test_deserialize_user_defined_loss():
    # "the following dictionary represents a user-defined MeanSquaredError loss". The config
    # is tf.keras 2's loss config (`fn`, `reduction: "auto"`), which Keras 3.15 itself
    # rejects ("unexpected keyword argument 'fn'"); the page promises it loads.
    @keras.saving.register_keras_serializable(package='my_package')
    class ModifiedMeanSquaredError(keras.losses.MeanSquaredError):
        ...

    dict_structure = {
        "class_name": "ModifiedMeanSquaredError",
        "config": {
            "fn": "mean_squared_error",
            "name": "mean_squared_error",
            "reduction": "auto"
        },
        "registered_name": "my_package>ModifiedMeanSquaredError"
    }
    # Returns the `ModifiedMeanSquaredError` object
    loss = deserialize_keras_object(dict_structure)

    assert isinstance(loss, ModifiedMeanSquaredError)
    assert loss.name == "mean_squared_error"
    y_true = np.array([[0.0, 1.0], [1.0, 1.0]], dtype="float32")
    y_pred = np.array([[1.0, 1.0], [1.0, 0.0]], dtype="float32")
    np.testing.assert_allclose(float(np.asarray(loss(y_true, y_pred))), 0.5, rtol=1e-6)


@needs("serialization")
def test_custom_object_scope():
    # CustomObjectScope: "Consider a custom regularizer `my_regularizer`".
    Dense = keras.layers.Dense

    def my_regularizer(x):
        return 1e-3 * ops.sum(ops.abs(x))

    layer = Dense(3, kernel_regularizer=my_regularizer)
    # Config contains a reference to `my_regularizer`
    config = layer.get_config()
    ...
    # Later:
    with custom_object_scope({'my_regularizer': my_regularizer}):
        layer = Dense.from_config(config)

    assert layer.kernel_regularizer is my_regularizer
    # Objects given to a scope are not added to the global dict (get_custom_objects's doc).
    assert "my_regularizer" not in get_custom_objects()


@needs("serialization")
def test_get_custom_objects():
    # get_custom_objects: "a live reference to the global dict of custom objects".
    class MyObject(keras.layers.Layer):
        def get_config(self):
            return super().get_config()

    get_custom_objects().clear()
    get_custom_objects()['MyObject'] = MyObject

    assert keras.saving.get_custom_objects() == {"MyObject": MyObject}
    assert get_registered_object("MyObject") is MyObject
    restored = deserialize_keras_object(
        {"module": None, "class_name": "MyObject", "config": {"name": "obj"},
         "registered_name": "MyObject"}
    )
    assert isinstance(restored, MyObject) and restored.name == "obj"
    with custom_object_scope({"Scoped": MyObject}):
        assert "Scoped" not in get_custom_objects()
        assert get_registered_object("Scoped") is MyObject


@needs("serialization")
def test_register_keras_serializable():
    # register_keras_serializable example.
    # Note that `'my_package'` is used as the `package` argument here, and since
    # the `name` argument is not provided, `'MyDense'` is used as the `name`.
    @register_keras_serializable('my_package')
    class MyDense(keras.layers.Dense):
        pass

    assert get_registered_object('my_package>MyDense') == MyDense
    assert get_registered_name(MyDense) == 'my_package>MyDense'

    config = serialize_keras_object(MyDense(2))
    assert config["registered_name"] == "my_package>MyDense"
    assert config["class_name"] == "MyDense"
    assert type(deserialize_keras_object(config)) is MyDense


@needs("serialization")
def test_register_requires_get_config_for_classes_only():
    # "a class must implement get_config() to be serialized; functions have no such
    # requirement". Keras 3.15 raises ValueError when registering such a class.
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="get_config"):
        register_keras_serializable("my_package")(NoConfig)

    @register_keras_serializable("my_package")
    def square(x):
        return x * x

    assert get_registered_name(square) == "my_package>square"
    assert get_registered_object("my_package>square") is square
