"""Every code example of the tf.keras 2 guide "Save and load Keras models", run on kiln.

Source: /work/shared/guides/tf-keras2-save-load.zh-Hans.txt. TensorFlow names follow
/work/shared/guides/README.md: `tf.saved_model.load` -> `keras.export.load`,
`tf.train.Checkpoint` -> `keras.checkpoint.Checkpoint`, `tf.train.load_checkpoint` ->
`keras.checkpoint.load_checkpoint`, `tf.Variable` -> `keras.Variable`, `tf.matmul`/`tf.ones`/
`tf.nn.tanh` -> `ops.*`, `tf.random.*` -> `keras.random.*`. Formats follow the file name: no
extension with `save` = a model directory, no extension with `save_weights` = an object-graph
checkpoint, `.h5` = legacy HDF5.
"""

import copy
import os

import numpy as np
import pytest

import kiln as keras
from kiln import ops

needs = pytest.mark.needs


def get_model():
    # Create a simple model.
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model


def three_layer_mlp():
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")


# --------------------------------------------------------------------------------------
# Short answer, and saving whole models
# --------------------------------------------------------------------------------------

@needs("saving")
def test_short_answer_save_and_load():
    # "If you only have 10 seconds to read this guide".
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])  # model = ...
    x = np.random.random((3, 8))
    expected = model.predict(x)
    model.save('path/to/location')

    model = keras.models.load_model('path/to/location')
    assert os.path.isdir('path/to/location')
    np.testing.assert_allclose(model.predict(x), expected)


@needs("training", "saving")
def test_savedmodel_format_round_trip_and_resume_training():
    # "SavedModel format" example.
    model = get_model()

    # Train the model.
    test_input = np.random.random((128, 32))
    test_target = np.random.random((128, 1))
    model.fit(test_input, test_target)

    # Calling `save('my_model')` creates a SavedModel folder `my_model`.
    model.save("my_model")

    # It can be used to reconstruct the model identically.
    reconstructed_model = keras.models.load_model("my_model")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    # The reconstructed model is already compiled and has retained the optimizer
    # state, so training can resume:
    assert int(reconstructed_model.optimizer.iterations.numpy()) == 4
    reconstructed_model.fit(test_input, test_target)
    assert int(reconstructed_model.optimizer.iterations.numpy()) == 8

    # `ls my_model` shows a folder (TF: assets, saved_model.pb, variables; kiln's own files).
    assert os.path.isdir("my_model") and os.listdir("my_model")


@needs("saving")
def test_savedmodel_loads_custom_model_without_its_class(capsys):
    # "How SavedModel handles custom objects": no get_config, and the class is deleted
    # before loading.
    class CustomModel(keras.Model):
        def __init__(self, hidden_units):
            super(CustomModel, self).__init__()
            self.dense_layers = [keras.layers.Dense(u) for u in hidden_units]

        def call(self, inputs):
            x = inputs
            for layer in self.dense_layers:
                x = layer(x)
            return x

    model = CustomModel([16, 16, 10])
    # Build the model by calling it
    input_arr = keras.random.uniform((1, 5))
    outputs = model(input_arr)
    model.save("my_model")

    # Delete the custom-defined model class to ensure that the loader does not have
    # access to it.
    del CustomModel

    loaded = keras.models.load_model("my_model")
    np.testing.assert_allclose(loaded(input_arr), outputs, rtol=1e-6)

    print("Original model:", model)
    print("Loaded model:", loaded)
    out = capsys.readouterr().out
    assert "Original model:" in out and "Loaded model:" in out
    # "the loader dynamically created a new model that behaves like the original".
    assert isinstance(loaded, keras.Model)


@needs("training", "legacy_h5")
def test_keras_h5_format_round_trip_and_resume_training():
    # "Keras H5 format" example.
    model = get_model()

    # Train the model.
    test_input = np.random.random((128, 32))
    test_target = np.random.random((128, 1))
    model.fit(test_input, test_target)

    # Calling `save('my_model.h5')` creates a h5 file `my_model.h5`.
    model.save("my_h5_model.h5")

    # It can be used to reconstruct the model identically.
    reconstructed_model = keras.models.load_model("my_h5_model.h5")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    # The reconstructed model is already compiled and has retained the optimizer
    # state, so training can resume:
    assert int(reconstructed_model.optimizer.iterations.numpy()) == 4
    reconstructed_model.fit(test_input, test_target)
    assert int(reconstructed_model.optimizer.iterations.numpy()) == 8


# --------------------------------------------------------------------------------------
# Saving the architecture
# --------------------------------------------------------------------------------------

@needs("serialization")
def test_layer_config_round_trip():
    # "Layer example".
    layer = keras.layers.Dense(3, activation="relu")
    layer_config = layer.get_config()
    new_layer = keras.layers.Dense.from_config(layer_config)

    assert new_layer.get_config() == layer_config
    assert layer_config["units"] == 3 and layer_config["activation"] == "relu"


@needs("serialization")
def test_sequential_config_round_trip():
    # "Sequential model example".
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    config = model.get_config()
    expected = copy.deepcopy(config)  # (Keras's from_config may consume its argument)
    new_model = keras.Sequential.from_config(config)

    assert new_model.get_config() == expected


@needs("serialization")
def test_functional_config_round_trip():
    # "Functional model example".
    inputs = keras.Input((32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    expected = copy.deepcopy(config)  # (Keras's from_config may consume its argument)
    new_model = keras.Model.from_config(config)

    assert new_model.get_config() == expected


@needs("serialization")
def test_to_json_and_model_from_json():
    # "to_json() and tf.keras.models.model_from_json()".
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    json_config = model.to_json()
    new_model = keras.models.model_from_json(json_config)

    assert isinstance(json_config, str)
    assert new_model.to_json() == json_config


@needs("saving", "export")
def test_loading_the_tensorflow_graph_only():
    # "Loading the TensorFlow graph only": no custom_objects needed.
    model = get_model()
    model.save("my_model")
    tensorflow_graph = keras.export.load("my_model")
    x = np.random.uniform(size=(4, 32)).astype(np.float32)
    predicted = tensorflow_graph(x).numpy()

    np.testing.assert_allclose(predicted, model.predict(x), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------
# Custom objects
# --------------------------------------------------------------------------------------

def define_variable_layer():
    """The guide's `CustomLayer` holding a `tf.Variable` (it never calls `super().__init__`)."""

    class CustomLayer(keras.layers.Layer):
        def __init__(self, a):
            self.var = keras.Variable(a, name="var_a")

        def call(self, inputs, training=False):
            if training:
                return inputs * self.var
            else:
                return inputs

        def get_config(self):
            return {"a": self.var.numpy()}

        # There's actually no need to define `from_config` here, since returning
        # `cls(**config)` is the default behavior.
        @classmethod
        def from_config(cls, config):
            return cls(**config)

    return CustomLayer


@needs("serialization")
def test_defining_config_methods():
    # "Defining the config methods".
    CustomLayer = define_variable_layer()

    layer = CustomLayer(5)
    layer.var.assign(2)

    serialized_layer = keras.layers.serialize(layer)
    new_layer = keras.layers.deserialize(
        serialized_layer, custom_objects={"CustomLayer": CustomLayer}
    )

    assert serialized_layer["class_name"] == "CustomLayer"
    assert isinstance(new_layer, CustomLayer)
    assert int(new_layer.var.numpy()) == 2

    # "Registering custom objects": tf.keras printed the serialized form
    # {'class_name': 'CustomLayer', 'config': {'a': 2}}; that Keras 2 form loads too.
    old_form = {'class_name': 'CustomLayer', 'config': {'a': 2}}
    from_old = keras.layers.deserialize(old_form, custom_objects={"CustomLayer": CustomLayer})
    assert isinstance(from_old, CustomLayer)
    assert int(from_old.var.numpy()) == 2


def define_custom_layer_and_function():
    # "Custom layer and function example".
    class CustomLayer(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super(CustomLayer, self).__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            config = super(CustomLayer, self).get_config()
            config.update({"units": self.units})
            return config

    def custom_activation(x):
        return ops.tanh(x) ** 2

    return CustomLayer, custom_activation


@needs("serialization")
def test_custom_layer_and_function_with_custom_object_scope():
    CustomLayer, custom_activation = define_custom_layer_and_function()

    # Make a model with the CustomLayer and custom_activation
    inputs = keras.Input((32,))
    x = CustomLayer(32)(inputs)
    outputs = keras.layers.Activation(custom_activation)(x)
    model = keras.Model(inputs, outputs)

    # Retrieve the config
    config = model.get_config()

    # At loading time, register the custom objects with a `custom_object_scope`:
    custom_objects = {"CustomLayer": CustomLayer, "custom_activation": custom_activation}
    with keras.utils.custom_object_scope(custom_objects):
        new_model = keras.Model.from_config(config)

    assert isinstance(new_model.layers[1], CustomLayer)
    assert new_model.layers[1].units == 32
    assert new_model.layers[2].activation is custom_activation
    # New weights: same shapes, fresh values.
    assert [w.shape for w in new_model.get_weights()] == [(32, 32), (32,)]
    y = np.asarray(new_model(np.ones((2, 32))))
    assert y.shape == (2, 32) and np.all((y >= 0) & (y <= 1))

    # "In-memory model cloning".
    with keras.utils.custom_object_scope(custom_objects):
        new_model = keras.models.clone_model(model)

    assert isinstance(new_model.layers[1], CustomLayer)
    assert new_model.layers[2].activation is custom_activation
    assert not np.allclose(new_model.get_weights()[0], model.get_weights()[0])


# --------------------------------------------------------------------------------------
# Saving and loading only the weights
# --------------------------------------------------------------------------------------

@needs("saving")
def test_weight_transfer_between_layers():
    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1 = create_layer()
    layer_2 = create_layer()

    # Copy weights from layer 2 to layer 1
    layer_2.set_weights(layer_1.get_weights())

    for a, b in zip(layer_1.get_weights(), layer_2.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs("saving")
def test_weight_transfer_between_compatible_models():
    # Create a simple functional model
    functional_model = three_layer_mlp()

    # Define a subclassed model with the same architecture
    class SubclassedModel(keras.Model):
        def __init__(self, output_dim, name=None):
            super(SubclassedModel, self).__init__(name=name)
            self.output_dim = output_dim
            self.dense_1 = keras.layers.Dense(64, activation="relu", name="dense_1")
            self.dense_2 = keras.layers.Dense(64, activation="relu", name="dense_2")
            self.dense_3 = keras.layers.Dense(output_dim, name="predictions")

        def call(self, inputs):
            x = self.dense_1(inputs)
            x = self.dense_2(x)
            x = self.dense_3(x)
            return x

        def get_config(self):
            return {"output_dim": self.output_dim, "name": self.name}

    subclassed_model = SubclassedModel(10)
    # Call the subclassed model once to create the weights.
    subclassed_model(ops.ones((1, 784)))

    # Copy weights from functional_model to subclassed_model.
    subclassed_model.set_weights(functional_model.get_weights())

    assert len(functional_model.weights) == len(subclassed_model.weights)
    for a, b in zip(functional_model.weights, subclassed_model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())


@needs("saving")
def test_weight_transfer_with_stateless_layers():
    functional_model = three_layer_mlp()

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)

    # Add a dropout layer, which does not contain any weights.
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model_with_dropout = keras.Model(
        inputs=inputs, outputs=outputs, name="3_layer_mlp"
    )

    functional_model_with_dropout.set_weights(functional_model.get_weights())

    for a, b in zip(functional_model.get_weights(), functional_model_with_dropout.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs("checkpoint")
def test_tf_checkpoint_format():
    # "TF Checkpoint format": `save_weights` without an extension writes a checkpoint.
    # Runnable example
    sequential_model = keras.Sequential(
        [
            keras.Input(shape=(784,), name="digits"),
            keras.layers.Dense(64, activation="relu", name="dense_1"),
            keras.layers.Dense(64, activation="relu", name="dense_2"),
            keras.layers.Dense(10, name="predictions"),
        ]
    )
    saved = sequential_model.get_weights()
    sequential_model.save_weights("ckpt")
    assert {"checkpoint", "ckpt.index", "ckpt.data-00000-of-00001"} <= set(os.listdir("."))
    sequential_model.set_weights([np.zeros_like(w) for w in saved])
    load_status = sequential_model.load_weights("ckpt")

    # `assert_consumed` can be used as validation that all variable values have been
    # restored from the checkpoint. See `tf.train.Checkpoint.restore` for other
    # methods in the Status object.
    load_status.assert_consumed()

    for a, b in zip(saved, sequential_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs("checkpoint")
def test_checkpoint_keys_use_attribute_names():
    # "Format details": the variable is saved under the attribute name "var", not "var_a".
    class CustomLayer(keras.layers.Layer):
        def __init__(self, a):
            self.var = keras.Variable(a, name="var_a")

    layer = CustomLayer(5)
    layer_ckpt = keras.checkpoint.Checkpoint(layer=layer).save("custom_layer")

    ckpt_reader = keras.checkpoint.load_checkpoint(layer_ckpt)

    dtype_map = ckpt_reader.get_variable_to_dtype_map()
    # {'save_counter/.ATTRIBUTES/VARIABLE_VALUE': tf.int64,
    #  '_CHECKPOINTABLE_OBJECT_GRAPH': tf.string,
    #  'layer/var/.ATTRIBUTES/VARIABLE_VALUE': tf.int32}
    assert set(dtype_map) == {
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
        "_CHECKPOINTABLE_OBJECT_GRAPH",
        "layer/var/.ATTRIBUTES/VARIABLE_VALUE",
    }
    assert "int64" in str(dtype_map["save_counter/.ATTRIBUTES/VARIABLE_VALUE"])
    assert "int32" in str(dtype_map["layer/var/.ATTRIBUTES/VARIABLE_VALUE"])
    assert list(ckpt_reader.get_variable_to_shape_map()["layer/var/.ATTRIBUTES/VARIABLE_VALUE"]) == []
    assert int(ckpt_reader.get_tensor("layer/var/.ATTRIBUTES/VARIABLE_VALUE")) == 5


@needs("checkpoint")
def test_transfer_learning_with_tf_checkpoints(capsys):
    # "Transfer learning example" (TF checkpoint section).
    functional_model = three_layer_mlp()

    # Extract a portion of the functional model defined in the Setup section.
    # The following lines produce a new model that excludes the final output
    # layer of the functional model.
    pretrained = keras.Model(
        functional_model.inputs, functional_model.layers[-1].input, name="pretrained_model"
    )
    # Randomly assign "trained" weights.
    for w in pretrained.weights:
        w.assign(keras.random.normal(w.shape))
    pretrained.save_weights("pretrained_ckpt")
    pretrained.summary()

    # Assume this is a separate program where only 'pretrained_ckpt' exists.
    # Create a new functional model with a different output dimension.
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(5, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="new_model")

    # Load the weights from pretrained_ckpt into model.
    model.load_weights("pretrained_ckpt")

    # Check that all of the pretrained weights have been loaded.
    for a, b in zip(pretrained.weights, model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())

    print("\n", "-" * 50)
    model.summary()

    # Example 2: Sequential model
    # Recreate the pretrained model, and load the saved weights.
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    pretrained_model = keras.Model(inputs=inputs, outputs=x, name="pretrained")

    # Sequential example:
    model = keras.Sequential([pretrained_model, keras.layers.Dense(5, name="predictions")])
    model.summary()

    pretrained_model.load_weights("pretrained_ckpt")

    # Warning! Calling `model.load_weights('pretrained_ckpt')` won't throw an error,
    # but will *not* work as expected. If you inspect the weights, you'll see that
    # none of the weights will have loaded. `pretrained_model.load_weights()` is the
    # correct method to call.
    for a, b in zip(pretrained.weights, pretrained_model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())

    out = capsys.readouterr().out
    for expected in ("pretrained_model", "new_model", "Total params: 54,400",
                     "Total params: 54,725", "50,240", "4,160", "325"):
        assert expected in out, f"{expected!r} missing from the summaries:\n{out}"
    assert pretrained.count_params() == 54400
    assert model.count_params() == 54725


@needs("checkpoint")
def test_checkpoint_between_different_architectures():
    # "save and restore the exact layers/variables with tf.train.Checkpoint".
    functional_model = three_layer_mlp()

    # Create a subclassed model that essentially uses functional_model's first
    # and last layers.
    # First, save the weights of functional_model's first and last dense layers.
    first_dense = functional_model.layers[1]
    last_dense = functional_model.layers[-1]
    ckpt_path = keras.checkpoint.Checkpoint(
        dense=first_dense, kernel=last_dense.kernel, bias=last_dense.bias
    ).save("ckpt")

    # Define the subclassed model.
    class ContrivedModel(keras.Model):
        def __init__(self):
            super(ContrivedModel, self).__init__()
            self.first_dense = keras.layers.Dense(64)
            self.kernel = self.add_variable("kernel", shape=(64, 10))
            self.bias = self.add_variable("bias", shape=(10,))

        def call(self, inputs):
            x = self.first_dense(inputs)
            return ops.matmul(x, self.kernel) + self.bias

    model = ContrivedModel()
    # Call model on inputs to create the variables of the dense layer.
    _ = model(ops.ones((1, 784)))

    # Create a Checkpoint with the same structure as before, and load the weights.
    keras.checkpoint.Checkpoint(
        dense=model.first_dense, kernel=model.kernel, bias=model.bias
    ).restore(ckpt_path).assert_consumed()

    for a, b in zip(first_dense.get_weights(), model.first_dense.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.kernel.numpy(), last_dense.kernel.numpy())
    np.testing.assert_array_equal(model.bias.numpy(), last_dense.bias.numpy())


@needs("legacy_h5")
def test_hdf5_weights_format():
    # "HDF5 format".
    # Runnable example
    sequential_model = keras.Sequential(
        [
            keras.Input(shape=(784,), name="digits"),
            keras.layers.Dense(64, activation="relu", name="dense_1"),
            keras.layers.Dense(64, activation="relu", name="dense_2"),
            keras.layers.Dense(10, name="predictions"),
        ]
    )
    saved = sequential_model.get_weights()
    sequential_model.save_weights("weights.h5")
    sequential_model.set_weights([np.zeros_like(w) for w in saved])
    sequential_model.load_weights("weights.h5")

    for a, b in zip(saved, sequential_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs("saving")
def test_nested_layer_weight_order_when_trainable_changes():
    # The guide prints TF-era names ('nested/dense_1/kernel:0', ...) and "variable ordering
    # changed: True". That conflicts with the Keras 3 guide (rev B), which prints
    # ['kernel', 'bias', 'kernel', 'bias'] and False, as Keras 3.15 does; Keras 3 wins.
    class NestedDenseLayer(keras.layers.Layer):
        def __init__(self, units, name=None):
            super(NestedDenseLayer, self).__init__(name=name)
            self.dense_1 = keras.layers.Dense(units, name="dense_1")
            self.dense_2 = keras.layers.Dense(units, name="dense_2")

        def call(self, inputs):
            return self.dense_2(self.dense_1(inputs))

    nested_model = keras.Sequential([keras.Input((784,)), NestedDenseLayer(10, "nested")])
    variable_names = [v.name for v in nested_model.weights]
    print("variables: {}".format(variable_names))

    print("\nChanging trainable status of one of the nested layers...")
    nested_model.get_layer("nested").dense_1.trainable = False

    variable_names_2 = [v.name for v in nested_model.weights]
    print("\nvariables: {}".format(variable_names_2))
    print("variable ordering changed:", variable_names != variable_names_2)

    assert variable_names == variable_names_2 == ["kernel", "bias", "kernel", "bias"]


@needs("legacy_h5")
def test_transfer_learning_from_hdf5(capsys):
    # "Transfer learning example" (HDF5 section).
    def create_functional_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = keras.layers.Dense(10, name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    functional_model = create_functional_model()
    functional_model.save_weights("pretrained_weights.h5")

    # In a separate program:
    pretrained_model = create_functional_model()
    pretrained_model.load_weights("pretrained_weights.h5")

    # Create a new model by extracting layers from the original model:
    extracted_layers = pretrained_model.layers[:-1]
    extracted_layers.append(keras.layers.Dense(5, name="dense_3"))
    model = keras.Sequential(extracted_layers)
    model.summary()

    out = capsys.readouterr().out
    for expected in ("dense_1", "dense_2", "dense_3", "Total params: 54,725"):
        assert expected in out, f"{expected!r} missing from the summary:\n{out}"
    for a, b in zip(functional_model.get_weights()[:4], model.get_weights()[:4]):
        np.testing.assert_array_equal(a, b)
