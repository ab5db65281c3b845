"""Training end to end: the tf.keras checkpoint tutorial's flow on MNIST-like data, multi-input
and multi-output models, streamed inputs, error messages, and Keras 3 as an oracle."""

import hashlib
import os
import re

import numpy as np
import pytest
import torch

import kiln
from kiln.datasets import file_cache, mnist

pytestmark = pytest.mark.needs("training")


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    kiln.utils.clear_session()
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A small learnable stand-in for mnist.npz in a temporary KILN_HOME (no network)."""
    rng = np.random.RandomState(0)
    prototypes = rng.randint(0, 256, (10, 28, 28))

    def make(n):
        labels = rng.randint(0, 10, n).astype("uint8")
        noise = rng.randint(-60, 60, (n, 28, 28))
        images = np.clip(prototypes[labels] + noise, 0, 255).astype("uint8")
        return images, labels

    (x_train, y_train), (x_test, y_test) = make(640), make(160)
    folder = tmp_path / "home" / "datasets"
    folder.mkdir(parents=True)
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test,
             y_test=y_test)
    digest = hashlib.sha256((folder / "mnist.npz").read_bytes()).hexdigest()
    monkeypatch.setenv("KILN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist, "SHA256", digest)

    def no_network(url, destination):
        raise AssertionError("the test must not download")

    monkeypatch.setattr(file_cache, "download", no_network)
    monkeypatch.chdir(tmp_path)


def create_model(hidden=64):
    model = kiln.models.Sequential([
        kiln.layers.Dense(hidden, activation="relu", input_shape=(784,)),
        kiln.layers.Dropout(0.2),
        kiln.layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[kiln.metrics.SparseCategoricalAccuracy()])
    return model


def test_checkpoint_tutorial_flow(fake_mnist, capsys):
    kiln.utils.set_random_seed(0)
    (train_images, train_labels), (test_images, test_labels) = kiln.datasets.mnist.load_data()
    train_images = train_images.reshape(-1, 28 * 28) / 255.0
    test_images = test_images.reshape(-1, 28 * 28) / 255.0

    model = create_model()
    checkpoint_path = "training_1/cp.weights.h5"
    cp_callback = kiln.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                 save_weights_only=True, verbose=1)
    history = model.fit(train_images, train_labels, epochs=3,
                        validation_data=(test_images, test_labels), callbacks=[cp_callback])
    out = capsys.readouterr().out
    assert out.count("Epoch 2: saving model to training_1/cp.weights.h5") == 1
    epoch_lines = [line for line in out.splitlines() if line.startswith("20/20 ")]
    assert len(epoch_lines) == 3
    assert re.fullmatch(
        r"20/20 \u2501{20} \d+s \d+[mu]?s/step - loss: \d\.\d{4} - sparse_categorical_accuracy: "
        r"\d\.\d{4} - val_loss: \d\.\d{4} - val_sparse_categorical_accuracy: \d\.\d{4}",
        epoch_lines[-1])
    assert sorted(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                       "val_sparse_categorical_accuracy"]
    assert history.history["val_sparse_categorical_accuracy"][-1] > 0.5

    fresh = create_model()
    loss, acc = fresh.evaluate(test_images, test_labels, verbose=2)
    assert acc < 0.5
    fresh.load_weights(checkpoint_path)
    loss, acc = fresh.evaluate(test_images, test_labels, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"5/5 - \d+s - \d+[mu]?s/step - loss: \d\.\d{4} - "
                        r"sparse_categorical_accuracy: \d\.\d{4}", lines[1])
    assert f"sparse_categorical_accuracy: {acc:.4f}" in lines[1]
    np.testing.assert_allclose(acc, history.history["val_sparse_categorical_accuracy"][-1],
                               atol=1e-6)


def _two_io_model():
    image = kiln.Input((8,), name="image")
    meta = kiln.Input((3,), name="meta")
    h = kiln.layers.Concatenate()([kiln.layers.Dense(16, activation="relu")(image), meta])
    score = kiln.layers.Dense(1, name="score")(h)
    label = kiln.layers.Dense(4, name="label")(h)
    return kiln.Model({"image": image, "meta": meta}, {"score": score, "label": label})


def _two_io_data(n=48):
    rng = np.random.RandomState(1)
    x = {"image": rng.rand(n, 8).astype("float32"), "meta": rng.rand(n, 3).astype("float32")}
    y = {"score": x["image"].sum(1, keepdims=True), "label": (x["meta"][:, 0] * 4).astype("int32")}
    return x, y


def test_multi_input_multi_output_dicts_save_and_resume(tmp_path):
    kiln.utils.set_random_seed(0)
    model = _two_io_model()
    model.compile(optimizer="adam",
                  loss={"score": "mse",
                        "label": kiln.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"score": 1.0, "label": 0.5},
                  metrics={"score": ["mae"], "label": ["accuracy"]})
    x, y = _two_io_data()
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, validation_split=0.25)
    assert sorted(history.history) == sorted(
        ["label_accuracy", "label_loss", "loss", "score_loss", "score_mae", "val_label_accuracy",
         "val_label_loss", "val_loss", "val_score_loss", "val_score_mae"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    preds = model.predict(x, verbose=0)
    assert set(preds) == {"score", "label"} and preds["label"].shape == (48, 4)

    path = str(tmp_path / "two_io.keras")
    model.save(path)
    restored = kiln.models.load_model(path)
    assert restored.get_compile_config() == model.get_compile_config()
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    after = restored.evaluate(x, y, verbose=0, return_dict=True)
    for key in before:
        np.testing.assert_allclose(after[key], before[key], atol=1e-6, err_msg=key)
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    restored.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_generator_and_dataloader_inputs_train_the_same_way():
    x, y = _two_io_data(32)
    x_flat = np.concatenate([x["image"], x["meta"]], axis=1)
    y_flat = y["score"]

    def train(data_kind):
        kiln.utils.set_random_seed(3)
        model = kiln.Sequential([kiln.Input((11,)), kiln.layers.Dense(1)])
        model.compile(optimizer=kiln.optimizers.SGD(0.05), loss="mse")
        if data_kind == "arrays":
            model.fit(x_flat, y_flat, batch_size=8, epochs=2, shuffle=False, verbose=0)
        elif data_kind == "generator":
            def batches():
                while True:
                    for i in range(0, 32, 8):
                        yield x_flat[i:i + 8], y_flat[i:i + 8]
            model.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)
        else:
            dataset = torch.utils.data.TensorDataset(torch.from_numpy(x_flat),
                                                     torch.from_numpy(y_flat))
            model.fit(torch.utils.data.DataLoader(dataset, batch_size=8), epochs=2, verbose=0)
        return model.get_weights()

    reference = train("arrays")
    for kind in ("generator", "dataloader"):
        for a, b in zip(train(kind), reference):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=kind)


def test_error_messages():
    model = create_model(hidden=8)
    x = np.zeros((10, 784), "float32")
    with pytest.raises(ValueError, match=r"x sizes: \[10\], y sizes: \[9\]"):
        model.fit(x, np.zeros(9, "int64"), verbose=0)
    with pytest.raises(ValueError, match="one-hot"):
        model.fit(x, np.eye(10, dtype="float32"), verbose=0)
    with pytest.raises(ValueError, match="call `compile\\(\\)` before using `fit"):
        kiln.Sequential([kiln.Input((2,)), kiln.layers.Dense(1)]).fit(np.zeros((2, 2)),
                                                                      np.zeros((2, 1)))
    with pytest.raises(ValueError, match="Known names"):
        model.compile(optimizer="adamw2", loss="mse")


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum"])
def test_one_epoch_matches_keras_weights(optimizer):
    keras = pytest.importorskip("keras")
    rng = np.random.RandomState(0)
    x = rng.rand(96, 20).astype("float32")
    y = rng.randint(0, 5, 96)

    def build(lib):
        return lib.Sequential([lib.Input((20,)), lib.layers.Dense(32, activation="relu"),
                               lib.layers.Dense(5)])

    def make_optimizer(lib):
        if optimizer == "sgd":
            return lib.optimizers.SGD(learning_rate=0.1)
        return lib.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)

    ours = build(kiln)
    theirs = build(keras)
    theirs.set_weights(ours.get_weights())
    ours.compile(optimizer=make_optimizer(kiln),
                 loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=["accuracy"])
    theirs.compile(optimizer=make_optimizer(keras),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    h_ours = ours.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], atol=1e-5)
    assert h_ours["accuracy"] == pytest.approx(h_theirs["accuracy"], abs=1e-6)


def test_demo_dataset_trains(tmp_path):
    (x_train, y_train), (x_test, y_test) = kiln.datasets.digits.load_data()
    kiln.utils.set_random_seed(0)
    model = kiln.Sequential([kiln.Input((64,)), kiln.layers.Dense(32, activation="relu"),
                             kiln.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.85
    assert not os.listdir(tmp_path)
