"""Every code example of the tf.keras 2 tutorial "Save and load models", run on kiln.

Source: /work/shared/guides/tf-keras2-save-load-checkpoints.vi.txt. TensorFlow names follow
/work/shared/guides/README.md (`tf.keras.datasets.mnist.load_data` ->
`keras.datasets.mnist.load_data`, `tf.train.latest_checkpoint` ->
`keras.checkpoint.latest_checkpoint`, `tf.losses`/`tf.metrics` -> `keras.losses`/
`keras.metrics`). MNIST is never downloaded: the `fake_mnist` fixture caches a small,
learnable stand-in (1,000 train / 200 test images) in `$KILN_HOME/datasets/mnist.npz`.
Only sizes are reduced: fewer epochs (10 -> 3, 50 -> 10, 5 -> 2); every behaviour shown
(periodic checkpoints, file names, `latest_checkpoint`, restored accuracy) is kept.
"""

import os

import numpy as np
import pytest

import kiln as keras

needs = pytest.mark.needs


def load_sample():
    # "Get an example dataset": use the first 1000 examples.
    (train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()

    train_labels = train_labels[:1000]
    test_labels = test_labels[:1000]

    train_images = train_images[:1000].reshape(-1, 28 * 28) / 255.0
    test_images = test_images[:1000].reshape(-1, 28 * 28) / 255.0
    return train_images, train_labels, test_images, test_labels


# Define a simple sequential model
def create_model():
  model = keras.models.Sequential([
    keras.layers.Dense(512, activation='relu', input_shape=(784,)),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10)
  ])

  model.compile(optimizer='adam',
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy()])

  return model


@needs("training")
def test_setup_and_dataset(fake_mnist, capsys):
    # "Installs and imports": print(tf.version.VERSION).
    print(keras.__version__)
    assert capsys.readouterr().out.strip() == keras.__version__

    train_images, train_labels, test_images, test_labels = load_sample()

    assert train_images.shape == (1000, 784) and train_labels.shape == (1000,)
    assert test_images.shape == (200, 784) and test_labels.shape == (200,)
    assert 0.0 <= train_images.min() and train_images.max() <= 1.0
    assert set(np.unique(train_labels)) <= set(range(10))


@needs("training")
def test_define_a_model(capsys):
    # "Define a model".
    # Create a basic model instance
    model = create_model()

    # Display the model's architecture
    model.summary()

    out = capsys.readouterr().out
    for expected in ("dense", "dropout", "dense_1", "401,920", "5,130", "Total params: 407,050"):
        assert expected in out, f"{expected!r} missing from the summary:\n{out}"
    assert model.count_params() == 407050


@needs("training", "checkpoint")
def test_checkpoint_callback_and_restore(fake_mnist, capsys):
    # "Checkpoint callback usage", then restore into a fresh model.
    train_images, train_labels, test_images, test_labels = load_sample()
    model = create_model()

    checkpoint_path = "training_1/cp.ckpt"
    checkpoint_dir = os.path.dirname(checkpoint_path)

    # Create a callback that saves the model's weights
    cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                  save_weights_only=True,
                                                  verbose=1)

    # Train the model with the new callback
    model.fit(train_images,
              train_labels,
              epochs=3,  # the guide trains 10 epochs
              validation_data=(test_images, test_labels),
              callbacks=[cp_callback])  # Pass callback to training

    out = capsys.readouterr().out
    for epoch in (1, 2, 3):
        assert f"Epoch {epoch}: saving model to training_1/cp.ckpt" in out

    # This creates a single collection of TensorFlow checkpoint files that are updated at
    # the end of each epoch:
    assert sorted(os.listdir(checkpoint_dir)) == sorted(
        ['checkpoint', 'cp.ckpt.index', 'cp.ckpt.data-00000-of-00001'])

    _, trained_acc = model.evaluate(test_images, test_labels, verbose=0)

    # Create a basic model instance
    model = create_model()

    # Evaluate the model
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    print("Untrained model, accuracy: {:5.2f}%".format(100 * acc))
    untrained_acc = acc

    # Loads the weights
    model.load_weights(checkpoint_path)

    # Re-evaluate the model
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    print("Restored model, accuracy: {:5.2f}%".format(100 * acc))

    assert acc == pytest.approx(trained_acc, abs=1e-6)
    assert acc > 0.8 and acc > untrained_acc
    assert "Restored model, accuracy:" in capsys.readouterr().out


@needs("training", "checkpoint")
def test_checkpoint_callback_options_and_latest_checkpoint(fake_mnist, capsys):
    # "Checkpoint callback options": unique names, a checkpoint every 5 epochs.
    train_images, train_labels, test_images, test_labels = load_sample()

    # Include the epoch in the file name (uses `str.format`)
    checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
    checkpoint_dir = os.path.dirname(checkpoint_path)

    batch_size = 32

    # Create a callback that saves the model's weights every 5 epochs
    # (1000 samples / 32 = 32 batches per epoch, so 5*32 batches = 5 epochs)
    cp_callback = keras.callbacks.ModelCheckpoint(
        filepath=checkpoint_path,
        verbose=1,
        save_weights_only=True,
        save_freq=5*batch_size)

    # Create a new model instance
    model = create_model()

    # Save the weights using the `checkpoint_path` format
    model.save_weights(checkpoint_path.format(epoch=0))

    # Train the model with the new callback
    model.fit(train_images,
              train_labels,
              epochs=10,  # the guide trains 50 epochs
              batch_size=batch_size,
              callbacks=[cp_callback],
              validation_data=(test_images, test_labels),
              verbose=0)

    out = capsys.readouterr().out
    assert "Epoch 5: saving model to training_2/cp-0005.ckpt" in out
    assert "Epoch 10: saving model to training_2/cp-0010.ckpt" in out

    # Now, look at the resulting checkpoints and choose the latest one:
    expected_files = ["checkpoint"] + [
        f"cp-{epoch:04d}.ckpt.{suffix}"
        for epoch in (0, 5, 10) for suffix in ("index", "data-00000-of-00001")
    ]
    assert sorted(os.listdir(checkpoint_dir)) == sorted(expected_files)

    latest = keras.checkpoint.latest_checkpoint(checkpoint_dir)
    assert latest == 'training_2/cp-0010.ckpt'

    _, trained_acc = model.evaluate(test_images, test_labels, verbose=0)

    # To test, reset the model and load the latest checkpoint:
    # Create a new model instance
    model = create_model()

    # Load the previously saved weights
    model.load_weights(latest)

    # Re-evaluate the model
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    print("Restored model, accuracy: {:5.2f}%".format(100 * acc))

    assert acc == pytest.approx(trained_acc, abs=1e-6)
    assert acc > 0.8


@needs("training", "checkpoint")
def test_manually_save_weights(fake_mnist):
    # "Manually save weights". `model` is the trained model of the previous cells.
    train_images, train_labels, test_images, test_labels = load_sample()
    model = create_model()
    model.fit(train_images, train_labels, epochs=1, verbose=0)
    _, trained_acc = model.evaluate(test_images, test_labels, verbose=0)

    # Save the weights
    model.save_weights('./checkpoints/my_checkpoint')

    # Create a new model instance
    model = create_model()

    # Restore the weights
    model.load_weights('./checkpoints/my_checkpoint')

    # Evaluate the model
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    print("Restored model, accuracy: {:5.2f}%".format(100 * acc))

    assert acc == pytest.approx(trained_acc, abs=1e-6)
    assert {"checkpoint", "my_checkpoint.index", "my_checkpoint.data-00000-of-00001"} <= set(
        os.listdir("checkpoints"))


@needs("training", "saving")
def test_savedmodel_format(fake_mnist, capsys):
    # "SavedModel format".
    train_images, train_labels, test_images, test_labels = load_sample()

    # Create and train a new model instance.
    model = create_model()
    model.fit(train_images, train_labels, epochs=2)  # the guide trains 5 epochs

    # Save the entire model as a SavedModel.
    os.makedirs("saved_model", exist_ok=True)  # !mkdir -p saved_model
    model.save('saved_model/my_model')

    # my_model directory: `ls saved_model` shows my_model (TF then lists assets,
    # keras_metadata.pb, saved_model.pb and variables inside it; kiln has its own files).
    assert os.listdir("saved_model") == ["my_model"]
    assert os.path.isdir("saved_model/my_model") and os.listdir("saved_model/my_model")

    _, trained_acc = model.evaluate(test_images, test_labels, verbose=0)
    capsys.readouterr()

    new_model = keras.models.load_model('saved_model/my_model')

    # Check its architecture
    new_model.summary()
    # tf.keras printed "Total params: 407,050"; Keras 3 adds the optimizer's variables to the
    # total of a trained model, so only the trainable count is fixed.
    assert "Trainable params: 407,050" in capsys.readouterr().out

    # The restored model is compiled with the same arguments as the original model.
    # Evaluate the restored model
    loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
    print('Restored model, accuracy: {:5.2f}%'.format(100 * acc))

    print(new_model.predict(test_images).shape)

    assert acc == pytest.approx(trained_acc, abs=1e-6)
    assert new_model.predict(test_images).shape == (200, 10)  # (1000, 10) with real MNIST


@needs("training", "legacy_h5")
def test_hdf5_format(fake_mnist, capsys):
    # "HDF5 format".
    train_images, train_labels, test_images, test_labels = load_sample()

    # Create and train a new model instance.
    model = create_model()
    model.fit(train_images, train_labels, epochs=2)  # the guide trains 5 epochs

    # Save the entire model to a HDF5 file.
    # The '.h5' extension indicates that the model should be saved to HDF5.
    model.save('my_model.h5')

    _, trained_acc = model.evaluate(test_images, test_labels, verbose=0)
    capsys.readouterr()

    # Recreate the exact same model, including its weights and the optimizer
    new_model = keras.models.load_model('my_model.h5')

    # Show the model architecture
    new_model.summary()
    # tf.keras printed "Total params: 407,050"; Keras 3 adds the optimizer's variables to the
    # total of a trained model, so only the trainable count is fixed.
    assert "Trainable params: 407,050" in capsys.readouterr().out

    loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
    print('Restored model, accuracy: {:5.2f}%'.format(100 * acc))

    assert acc == pytest.approx(trained_acc, abs=1e-6)
    # "The optimizer and its state" are saved too.
    assert isinstance(new_model.optimizer, keras.optimizers.Adam)
    assert int(new_model.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())


@needs("legacy_h5", "serialization")
def test_saving_custom_objects_to_hdf5():
    # "Saving custom objects": define get_config (and optionally from_config), then pass the
    # class in `custom_objects`, e.g.
    # tf.keras.models.load_model(path, custom_objects={'CustomLayer': CustomLayer}).
    class CustomLayer(keras.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal")

        def call(self, inputs):
            return keras.ops.matmul(inputs, self.w)

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config

    inputs = keras.Input((6,))
    model = keras.Model(inputs, CustomLayer(4)(inputs))
    x = np.random.random((3, 6))
    path = "custom_model.h5"
    model.save(path)

    loaded = keras.models.load_model(path, custom_objects={'CustomLayer': CustomLayer})

    assert isinstance(loaded.layers[1], CustomLayer)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))
