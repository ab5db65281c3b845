"""Every code example of the Keras 3 guide "Save, serialize, and export models", run on kiln.

The guide comes in two revisions (both in /work/shared/guides/); each test says which one
its code is from:
- rev A = keras3-save-serialize-export.zh-Hant.txt (2023, uses `tf.ones`/`tf.matmul`, has the
  Export section);
- rev B = keras3-save-serialize-export.ko.txt (2024-11, uses `from keras import ops` and
  `np.ones`, no Export section).
Where the two revisions print different results, the test asserts what Keras 3.15 prints
(checked with real keras 3.15.1) and says so. TensorFlow names follow
/work/shared/guides/README.md (`tf.saved_model.load` -> `keras.export.load`, ...).
Printed names differ from the guide's where the notebook had created more layers before
(`dense_4` there, `dense` here): every test starts a fresh session.
"""

import copy
import json
import os
import zipfile

import numpy as np
import pytest

import kiln as keras
from kiln import ops

needs = pytest.mark.needs

DTYPE_FLOAT32 = {"module": "keras", "class_name": "DTypePolicy",
                 "config": {"name": "float32"}, "registered_name": None}


# --------------------------------------------------------------------------------------
# "How to save and load a model" / "Saving"
# --------------------------------------------------------------------------------------

def get_model():
    # Create a simple model.  (rev A and rev B, "APIs" example)
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


@needs("saving")
def test_ten_second_save_and_load():
    # rev A + rev B: "If you only have 10 seconds to read this guide".
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])  # model = ...
    x = np.random.random((3, 8))
    # The guide's path is a placeholder; like Keras 3, `.keras` saving needs the folder to exist.
    os.makedirs("path/to", exist_ok=True)
    expected = model.predict(x)

    model.save('path/to/location.keras')  # The file needs to end with the .keras extension

    model = keras.models.load_model('path/to/location.keras')
    assert isinstance(model, keras.Model)
    np.testing.assert_allclose(model.predict(x), expected)


@needs("training", "saving")
def test_save_and_reload_whole_model():
    # rev A + rev B: "APIs" example.
    model = get_model()

    # Train the model.
    test_input = np.random.random((128, 32))
    test_target = np.random.random((128, 1))
    model.fit(test_input, test_target)

    # Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
    model.save("my_model.keras")

    # It can be used to reconstruct the model identically.
    reconstructed_model = keras.models.load_model("my_model.keras")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    # The introduction: the archive holds config.json, model.weights.h5 and metadata.json.
    with zipfile.ZipFile("my_model.keras") as archive:
        names = set(archive.namelist())
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
    assert {"metadata.json", "config.json", "model.weights.h5"} <= names
    assert "keras_version" in metadata
    assert config["class_name"] == "Functional"
    # "the model's compilation information" and "the optimizer and its state" are saved too.
    assert isinstance(reconstructed_model.optimizer, keras.optimizers.Adam)
    assert int(reconstructed_model.optimizer.iterations.numpy()) == 4
    assert int(model.optimizer.iterations.numpy()) == 4

    # "model.save() or keras.models.save_model() (which is equivalent)".
    keras.models.save_model(model, "my_model_2.keras")
    np.testing.assert_allclose(
        model.predict(test_input),
        keras.models.load_model("my_model_2.keras").predict(test_input),
    )


# --------------------------------------------------------------------------------------
# "Custom objects"
# --------------------------------------------------------------------------------------

class CustomLayer(keras.layers.Layer):
    # rev A + rev B: the layer whose constructor takes a non-primitive (a sublayer).
    def __init__(self, sublayer, **kwargs):
        super().__init__(**kwargs)
        self.sublayer = sublayer

    def call(self, x):
        return self.sublayer(x)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "sublayer": keras.saving.serialize_keras_object(self.sublayer),
        }
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        sublayer_config = config.pop("sublayer")
        sublayer = keras.saving.deserialize_keras_object(sublayer_config)
        return cls(sublayer, **config)


@needs("serialization", "saving")
def test_custom_layer_serializes_its_sublayer():
    # The guide only defines the class; here it is used the way the section describes.
    layer = CustomLayer(keras.layers.Dense(3, name="inner"), name="custom")
    config = layer.get_config()
    assert config["name"] == "custom"
    assert config["sublayer"]["class_name"] == "Dense"
    assert config["sublayer"]["config"]["units"] == 3

    new_layer = CustomLayer.from_config(config)
    assert isinstance(new_layer.sublayer, keras.layers.Dense)
    assert new_layer.sublayer.units == 3
    assert new_layer.name == "custom"

    inputs = keras.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    x = np.random.random((2, 4))
    model.save("sublayer_model.keras")
    reloaded = keras.models.load_model(
        "sublayer_model.keras", custom_objects={"CustomLayer": CustomLayer}
    )
    np.testing.assert_allclose(model.predict(x), reloaded.predict(x))


def define_registered_custom_objects():
    """The guide's "Registering custom objects" cell (rev A + rev B), in a fresh registry."""
    # Clear all previously registered custom objects
    keras.saving.get_custom_objects().clear()

    # Upon registration, you can optionally specify a package or a name.
    # If left blank, the package defaults to `Custom` and the name defaults to
    # the class name.
    @keras.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x**2

    # Create the model.
    def get_model():
        inputs = keras.Input(shape=(4,))
        mid = CustomLayer(0.5)(inputs)
        outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        return model

    # Train the model.
    def train_model(model):
        input = np.random.random((4, 4))
        target = np.random.random((4, 1))
        model.fit(input, target)
        return model

    return CustomLayer, custom_fn, get_model, train_model


@needs("training", "saving", "serialization")
def test_registering_custom_objects():
    # rev A + rev B: "Registering custom objects (preferred)".
    CustomLayer, custom_fn, get_model, train_model = define_registered_custom_objects()
    assert keras.saving.get_custom_objects()["MyLayers>CustomLayer"] is CustomLayer
    assert keras.saving.get_custom_objects()["my_package>custom_fn"] is custom_fn

    test_input = np.random.random((4, 4))
    test_target = np.random.random((4, 1))

    model = get_model()
    model = train_model(model)
    model.save("custom_model.keras")

    # Now, we can simply load without worrying about our custom objects.
    reconstructed_model = keras.models.load_model("custom_model.keras")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )
    with zipfile.ZipFile("custom_model.keras") as archive:
        config = json.loads(archive.read("config.json"))
    registered = {layer["registered_name"] for layer in config["config"]["layers"]}
    assert "MyLayers>CustomLayer" in registered


@needs("training", "saving", "serialization")
def test_passing_custom_objects_to_load_model():
    # rev A + rev B: "Passing custom objects to load_model()".
    CustomLayer, custom_fn, get_model, train_model = define_registered_custom_objects()
    test_input = np.random.random((4, 4))

    model = get_model()
    model = train_model(model)

    # Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
    model.save("custom_model.keras")

    # Upon loading, pass a dict containing the custom objects used in the
    # `custom_objects` argument of `keras.models.load_model()`.
    reconstructed_model = keras.models.load_model(
        "custom_model.keras",
        custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
    )

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )


@needs("training", "saving", "serialization")
def test_using_a_custom_object_scope():
    # rev A + rev B: "Using a custom object scope".
    CustomLayer, custom_fn, get_model, train_model = define_registered_custom_objects()
    test_input = np.random.random((4, 4))

    model = get_model()
    model = train_model(model)
    model.save("custom_model.keras")

    # Pass the custom objects dictionary to a custom object scope and place
    # the `keras.models.load_model()` call within the scope.
    custom_objects = {"CustomLayer": CustomLayer, "custom_fn": custom_fn}

    with keras.saving.custom_object_scope(custom_objects):
        reconstructed_model = keras.models.load_model("custom_model.keras")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )


# --------------------------------------------------------------------------------------
# "Model serialization"
# --------------------------------------------------------------------------------------

@needs("training", "serialization")
def test_in_memory_model_cloning():
    # rev A + rev B: `model` is the custom model of the previous cells.
    CustomLayer, custom_fn, get_model, train_model = define_registered_custom_objects()
    model = train_model(get_model())

    new_model = keras.models.clone_model(model)

    assert new_model is not model
    assert [type(l).__name__ for l in new_model.layers] == [type(l).__name__ for l in model.layers]
    assert new_model.layers[1].factor == 0.5
    assert new_model.layers[2].activation is custom_fn
    # "layer weights are not preserved": the clone is freshly initialized.
    old_kernel = model.layers[2].get_weights()[0]
    new_kernel = new_model.layers[2].get_weights()[0]
    assert old_kernel.shape == new_kernel.shape == (4, 1)
    assert not np.allclose(old_kernel, new_kernel)


@needs("serialization")
def test_layer_get_config_and_from_config():
    # rev A + rev B: "Layer example".
    layer = keras.layers.Dense(3, activation="relu")
    layer_config = layer.get_config()
    print(layer_config)
    # What Keras 3.15 prints. The revisions differ from it and from each other: rev A shows
    # 'dtype': 'float32', an 'activity_regularizer' key and registered_name None; rev B shows
    # module 'keras.src.initializers.random_initializers' with registered_name 'GlorotUniform'.
    # Keras 3.15 writes the public module with registered_name None (as rev A), a DTypePolicy
    # dict for dtype, the initializer's axes and 'quantization_config' (as neither).
    assert layer_config == {
        "name": "dense",
        "trainable": True,
        "dtype": DTYPE_FLOAT32,
        "units": 3,
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": {
            "module": "keras.initializers", "class_name": "GlorotUniform",
            "config": {"seed": None, "input_axes": None, "output_axes": None},
            "registered_name": None,
        },
        "bias_initializer": {
            "module": "keras.initializers", "class_name": "Zeros", "config": {},
            "registered_name": None,
        },
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
        "quantization_config": None,
    }

    new_layer = keras.layers.Dense.from_config(layer_config)
    assert isinstance(new_layer, keras.layers.Dense)
    assert new_layer.get_config() == layer_config


@needs("serialization")
def test_sequential_get_config_and_from_config():
    # rev A + rev B: "Sequential model example".
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    config = model.get_config()
    expected = copy.deepcopy(config)  # (Keras's from_config may consume its argument)
    new_model = keras.Sequential.from_config(config)

    assert isinstance(new_model, keras.Sequential)
    assert new_model.get_config() == expected
    assert [l.units for l in new_model.layers] == [1]
    assert new_model(np.ones((2, 32))).shape == (2, 1)


@needs("serialization")
def test_functional_get_config_and_from_config():
    # rev A + rev B: "Functional model example".
    inputs = keras.Input((32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    expected = copy.deepcopy(config)  # (Keras's from_config may consume its argument)
    new_model = keras.Model.from_config(config)

    assert isinstance(new_model, keras.Model)
    assert new_model.get_config() == expected
    assert new_model(np.ones((2, 32))).shape == (2, 1)


@needs("serialization")
def test_to_json_and_model_from_json():
    # rev A + rev B: "to_json() and keras.models.model_from_json()".
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    json_config = model.to_json()
    new_model = keras.models.model_from_json(json_config)

    assert isinstance(json_config, str)
    envelope = json.loads(json_config)
    assert envelope["module"] == "keras"
    assert envelope["class_name"] == "Sequential"
    assert isinstance(new_model, keras.Sequential)
    assert json.loads(new_model.to_json())["config"] == envelope["config"]


@needs("serialization")
def test_arbitrary_object_serialization():
    # rev A + rev B: "Arbitrary object serialization and deserialization".
    my_reg = keras.regularizers.L1(0.005)
    config = keras.saving.serialize_keras_object(my_reg)
    print(config)
    # rev A's output, which is also Keras 3.15's (rev B shows module
    # 'keras.src.regularizers.regularizers' and registered_name 'L1').
    assert config == {
        "module": "keras.regularizers",
        "class_name": "L1",
        "config": {"l1": 0.004999999888241291},
        "registered_name": None,
    }

    new_reg = keras.saving.deserialize_keras_object(config)
    assert isinstance(new_reg, keras.regularizers.L1)
    assert new_reg.get_config() == config["config"]


# --------------------------------------------------------------------------------------
# "Model weights saving"
# --------------------------------------------------------------------------------------

@needs("saving")
def test_weight_transfer_between_layers():
    # rev A + rev B: "Transfer weights from one layer to another, in memory".
    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1 = create_layer()
    layer_2 = create_layer()

    # Copy weights from layer 1 to layer 2
    layer_2.set_weights(layer_1.get_weights())

    for a, b in zip(layer_1.get_weights(), layer_2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in layer_2.get_weights()] == [(784, 64), (64,)]


@needs("saving")
@pytest.mark.parametrize(
    "ones", [ops.ones, np.ones], ids=["revA_tf.ones_as_ops.ones", "revB_np.ones"]
)
def test_weight_transfer_between_compatible_models(ones):
    # rev A calls the subclassed model on `tf.ones((1, 784))`, rev B on `np.ones((1, 784))`.
    # Create a simple functional model
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    # Define a subclassed model with the same architecture
    class SubclassedModel(keras.Model):
        def __init__(self, output_dim, name=None):
            super().__init__(name=name)
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
    subclassed_model(ones((1, 784)))

    # Copy weights from functional_model to subclassed_model.
    subclassed_model.set_weights(functional_model.get_weights())

    assert len(functional_model.weights) == len(subclassed_model.weights)
    for a, b in zip(functional_model.weights, subclassed_model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())


@needs("saving")
def test_weight_transfer_with_stateless_layers():
    # rev A + rev B: "The case of stateless layers".
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

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
    x = np.random.random((2, 784))
    np.testing.assert_allclose(
        functional_model.predict(x), functional_model_with_dropout.predict(x), rtol=1e-6
    )


@needs("saving")
def test_save_weights_to_disk_and_load_back():
    # rev A + rev B: "APIs for saving weights to disk & loading them back".
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
    sequential_model.save_weights("my_model.weights.h5")
    sequential_model.set_weights([np.zeros_like(w) for w in saved])
    sequential_model.load_weights("my_model.weights.h5")

    assert os.path.isfile("my_model.weights.h5")
    for a, b in zip(saved, sequential_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs("saving")
def test_nested_layer_weight_order_when_trainable_changes():
    # rev A + rev B. The revisions print different results: rev A (TF-era output) shows
    # names 'nested/dense_1/kernel:0' ... and "variable ordering changed: True"; rev B shows
    # ['kernel', 'bias', 'kernel', 'bias'] and "variable ordering changed: False". Keras 3.15
    # prints rev B's result, which is asserted here.
    class NestedDenseLayer(keras.layers.Layer):
        def __init__(self, units, name=None):
            super().__init__(name=name)
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

    assert variable_names == ["kernel", "bias", "kernel", "bias"]
    assert variable_names_2 == ["kernel", "bias", "kernel", "bias"]
    assert (variable_names != variable_names_2) is False


@needs("saving")
def test_transfer_learning_from_weights_file(capsys):
    # rev A + rev B: "Transfer learning example".
    def create_functional_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = keras.layers.Dense(10, name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    functional_model = create_functional_model()
    functional_model.save_weights("pretrained.weights.h5")

    # In a separate program:
    pretrained_model = create_functional_model()
    pretrained_model.load_weights("pretrained.weights.h5")

    # Create a new model by extracting layers from the original model:
    extracted_layers = pretrained_model.layers[:-1]
    extracted_layers.append(keras.layers.Dense(5, name="dense_3"))
    model = keras.Sequential(extracted_layers)
    model.summary()

    out = capsys.readouterr().out
    for expected in ("dense_1", "dense_2", "dense_3", "50,240", "4,160", "325",
                     "Total params: 54,725"):
        assert expected in out, f"{expected!r} missing from the summary:\n{out}"
    assert model.count_params() == 54725
    for a, b in zip(functional_model.get_weights()[:4], model.get_weights()[:4]):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------
# "Exporting" (rev A only; rev B has no Export section)
# --------------------------------------------------------------------------------------

@needs("export")
def test_simple_export_with_export(capsys):
    # rev A: "Simple exporting with .export()".
    inputs = keras.Input(shape=(16,))
    x = keras.layers.Dense(8, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)

    input_data = np.random.random((8, 16))
    output_data = model(input_data)  # **NOTE**: Make sure your model is built!

    # Export the model as a SavedModel artifact in a filepath.
    model.export("exported_model")

    # Reload the SavedModel artifact
    reloaded_artifact = keras.export.load("exported_model")

    # Use the `.serve()` endpoint to call the forward pass on the input data
    new_output_data = reloaded_artifact.serve(input_data)

    np.testing.assert_allclose(np.asarray(new_output_data), np.asarray(output_data),
                               rtol=1e-5, atol=1e-6)
    # The guide shows the export report listing the 'serve' endpoint.
    assert "serve" in capsys.readouterr().out


@needs("export")
def test_export_archive_equivalent_of_model_export():
    # rev A: "By default, model.export("path/to/location") does the following".
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.random.random((4, 3)).astype("float32")
    expected = model.predict(x)

    export_archive = keras.export.ExportArchive()
    export_archive.track(model)
    export_archive.add_endpoint(
        name="serve",
        fn=model.call,
        input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32")],  # changes
        # depending on model.
    )
    export_archive.write_out("path/to/location")

    reloaded = keras.export.load("path/to/location")
    np.testing.assert_allclose(np.asarray(reloaded.serve(x)), expected, rtol=1e-5, atol=1e-6)


@needs("export")
def test_export_archive_multi_head_attention():
    # rev A: "Customizing export artifacts with ExportArchive".
    layer = keras.layers.MultiHeadAttention(2, 2)
    x1 = keras.random.normal((3, 2, 2))
    x2 = keras.random.normal((3, 2, 2))
    ref_output = layer(x1, x2).numpy()  # **NOTE**: Make sure layer is built!

    export_archive = keras.export.ExportArchive()  # Instantiate ExportArchive object
    export_archive.track(layer)  # Register the layer to be used
    export_archive.add_endpoint(  # New endpoint `call` corresponding to `model.call`
        "call",
        layer.call,
        input_signature=[  # input signature corresponding to 2 inputs
            keras.InputSpec(
                shape=(None, 2, 2),
                dtype="float32",
            ),
            keras.InputSpec(
                shape=(None, 2, 2),
                dtype="float32",
            ),
        ],
    )

    # Register the layer weights as a set of variables to be retrieved
    export_archive.add_variable_collection("my_vars", layer.weights)
    np.testing.assert_equal(len(export_archive.my_vars), 8)
    # weights corresponding to 2 inputs, each of which are 2*2

    # Save the artifact
    export_archive.write_out("exported_mha_layer")

    # Reload the artifact
    revived_layer = keras.export.load("exported_mha_layer")
    np.testing.assert_allclose(
        ref_output,
        revived_layer.call(query=x1, value=x2).numpy(),
        atol=1e-6,
    )
    np.testing.assert_equal(len(revived_layer.my_vars), 8)


# --------------------------------------------------------------------------------------
# "Appendix: Handling custom objects"
# --------------------------------------------------------------------------------------

def define_my_dense(use_ops_matmul=True):
    """The appendix's `MyDense` (rev A's `call` uses `tf.matmul`, rev B's `ops.matmul`)."""

    @keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
    class MyDense(keras.layers.Layer):
        def __init__(
            self,
            units,
            *,
            kernel_regularizer=None,
            kernel_initializer=None,
            nested_model=None,
            **kwargs
        ):
            super().__init__(**kwargs)
            self.hidden_units = units
            self.kernel_regularizer = kernel_regularizer
            self.kernel_initializer = kernel_initializer
            self.nested_model = nested_model

        def get_config(self):
            config = super().get_config()
            # Update the config with the custom layer's parameters
            config.update(
                {
                    "units": self.hidden_units,
                    "kernel_regularizer": self.kernel_regularizer,
                    "kernel_initializer": self.kernel_initializer,
                    "nested_model": self.nested_model,
                }
            )
            return config

        def build(self, input_shape):
            input_units = input_shape[-1]
            self.kernel = self.add_weight(
                name="kernel",
                shape=(input_units, self.hidden_units),
                regularizer=self.kernel_regularizer,
                initializer=self.kernel_initializer,
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.kernel)  # rev A: tf.matmul(inputs, self.kernel)

    return MyDense


@needs("serialization")
def test_defining_config_methods():
    # rev A + rev B: "Defining the config methods".
    MyDense = define_my_dense()

    layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
    layer3 = MyDense(units=64, nested_model=layer)

    config = keras.layers.serialize(layer3)

    print(config)

    new_layer = keras.layers.deserialize(config)

    print(new_layer)

    # The guide prints 'module': None because its class lives in `__main__`; here the class
    # lives in this test module. Both revisions print 'dtype': 'float32'; Keras 3.15 writes
    # the DTypePolicy dict.
    module = MyDense.__module__
    assert config == {
        "module": module,
        "class_name": "MyDense",
        "config": {
            "name": "my_dense_1",
            "trainable": True,
            "dtype": DTYPE_FLOAT32,
            "units": 64,
            "kernel_regularizer": None,
            "kernel_initializer": None,
            "nested_model": {
                "module": module,
                "class_name": "MyDense",
                "config": {
                    "name": "my_dense",
                    "trainable": True,
                    "dtype": DTYPE_FLOAT32,
                    "units": 16,
                    "kernel_regularizer": "l1",
                    "kernel_initializer": "ones",
                    "nested_model": None,
                },
                "registered_name": "MyLayers>KernelMult",
            },
        },
        "registered_name": "MyLayers>KernelMult",
    }
    assert isinstance(new_layer, MyDense)
    assert new_layer.hidden_units == 64
    # rev B prints `<MyDense name=my_dense_1, built=False>` (as Keras 3.15 does); rev A
    # printed Python's default object repr.
    assert repr(new_layer) == "<MyDense name=my_dense_1, built=False>"

    # The layer works: `kernel_initializer="ones"` makes it a sum over the inputs.
    y = layer(np.ones((2, 3), dtype="float32"))
    np.testing.assert_allclose(np.asarray(y), np.full((2, 16), 3.0))


@needs("serialization")
def test_from_config_for_complex_objects():
    # rev A + rev B: the `CustomModel` example that overrides `from_config`.
    MyDense = define_my_dense()
    layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")

    @keras.saving.register_keras_serializable(package="ComplexModels")
    class CustomModel(keras.layers.Layer):
        def __init__(self, first_layer, second_layer=None, **kwargs):
            super().__init__(**kwargs)
            self.first_layer = first_layer
            if second_layer is not None:
                self.second_layer = second_layer
            else:
                self.second_layer = keras.layers.Dense(8)

        def get_config(self):
            config = super().get_config()
            config.update(
                {
                    "first_layer": self.first_layer,
                    "second_layer": self.second_layer,
                }
            )
            return config

        @classmethod
        def from_config(cls, config):
            # Note that you can also use `keras.saving.deserialize_keras_object` here
            config["first_layer"] = keras.layers.deserialize(config["first_layer"])
            config["second_layer"] = keras.layers.deserialize(config["second_layer"])
            return cls(**config)

        def call(self, inputs):
            return self.first_layer(self.second_layer(inputs))

    # Let's make our first layer the custom layer from the previous example (MyDense)
    inputs = keras.Input((32,))
    outputs = CustomModel(first_layer=layer)(inputs)
    model = keras.Model(inputs, outputs)

    config = model.get_config()
    new_model = keras.Model.from_config(config)

    custom = new_model.layers[1]
    assert isinstance(custom, CustomModel)
    assert isinstance(custom.first_layer, MyDense)
    assert custom.first_layer.hidden_units == 16
    assert custom.first_layer.kernel_regularizer == "l1"
    assert isinstance(custom.second_layer, keras.layers.Dense)
    assert custom.second_layer.units == 8
    assert new_model(np.ones((2, 32))).shape == (2, 16)


@needs("serialization")
def test_how_custom_objects_are_serialized():
    # rev A + rev B: "How custom objects are serialized". The two `MyDense` layers of the
    # previous cell are created first so the automatic name is 'my_dense_2' as in the guide.
    MyDense = define_my_dense()
    MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
    MyDense(units=64)

    layer = MyDense(
        units=16,
        kernel_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=1e-4),
        kernel_initializer="ones",
    )
    config = keras.layers.serialize(layer)
    print(config)

    # Keras 3.15 writes module 'keras.regularizers' and registered_name None for L1L2 (as
    # rev A) and the plain values 1e-05 / 0.0001 (as rev B; rev A showed float32-rounded
    # values). The class module is this test module rather than rev A/B's None (`__main__`).
    assert config == {
        "module": MyDense.__module__,
        "class_name": "MyDense",
        "config": {
            "name": "my_dense_2",
            "trainable": True,
            "dtype": DTYPE_FLOAT32,
            "units": 16,
            "kernel_regularizer": {
                "module": "keras.regularizers",
                "class_name": "L1L2",
                "config": {"l1": 1e-05, "l2": 0.0001},
                "registered_name": None,
            },
            "kernel_initializer": "ones",
            "nested_model": None,
        },
        "registered_name": "MyLayers>KernelMult",
    }
    # The registered name resolves back to the class, and class_name keeps its own name.
    assert keras.saving.get_registered_object("MyLayers>KernelMult") is MyDense
    assert config["class_name"] == MyDense.__name__
