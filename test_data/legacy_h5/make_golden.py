"""Regenerates the legacy `.h5` golden files in this folder.

    cd /work/main && KERAS_BACKEND=torch .venv/bin/python test_data/legacy_h5/make_golden.py

Files (each a few KB):
- keras2_functional.h5   tf.keras 2.15 layout, written with h5py: Input -> Dense(relu) ->
                         BatchNormalization(axis=[1]) -> Dense; compiled with a TF 2.15
                         Adam config (jit_compile, is_legacy_optimizer) and Keras-2 optimizer
                         weights named `Adam/iter:0`, `Adam/dense/kernel/m:0`, ...
- keras2_shared.h5       tf.keras layout with bytes attributes: two inputs, one Dense shared
                         by both (node indices 0 and 1), Add over a two-tensor list node;
                         SGD(momentum) state named `SGD/iteration:0`, `SGD/m/shared/kernel:0`;
                         no `top_level_model_weights` group.
- keras2_sequential.h5   tf.keras Sequential: InputLayer + Dense with `batch_input_shape`,
                         Dropout, Dense; not compiled.
- keras2_weights.h5      tf.keras weights-only file of the keras2_functional architecture,
                         with different layer names (loads by order).
- keras3_functional.h5   written by real Keras 3.15.1 (torch backend), compiled and trained.
- kiln_functional.h5     written by kiln, compiled and trained two steps (the format kiln
                         must keep reading).
- expected.npz           inputs and outputs for the Keras 3 and kiln files.

The Keras 2 files are built by hand (no TensorFlow here) following keras-format.md §5.2;
their weights come from a fixed seed, and the tests recompute predictions with numpy.
"""

import json
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _names(values):
    return np.array([v.encode("utf-8") for v in values])


def _glorot():
    return {"class_name": "GlorotUniform", "config": {"seed": None}}


def _zeros():
    return {"class_name": "Zeros", "config": {}}


def _dense(name, units, activation, inbound=None, batch_input_shape=None):
    config = {"name": name, "trainable": True, "dtype": "float32", "units": units,
              "activation": activation, "use_bias": True, "kernel_initializer": _glorot(),
              "bias_initializer": _zeros(), "kernel_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    if batch_input_shape is not None:
        config = {"batch_input_shape": batch_input_shape, **config}
    entry = {"class_name": "Dense", "config": config}
    if inbound is not None:
        entry.update({"name": name, "inbound_nodes": inbound})
    return entry


def _input(name, width, functional=True):
    entry = {"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, width], "dtype": "float32", "sparse": False,
        "ragged": False, "name": name}}
    if functional:
        entry.update({"name": name, "inbound_nodes": []})
    return entry


def _batch_norm(name, inbound):
    config = {"name": name, "trainable": True, "dtype": "float32", "axis": [1],
              "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
              "beta_initializer": _zeros(),
              "gamma_initializer": {"class_name": "Ones", "config": {}},
              "moving_mean_initializer": _zeros(),
              "moving_variance_initializer": {"class_name": "Ones", "config": {}},
              "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
              "gamma_constraint": None}
    return {"class_name": "BatchNormalization", "config": config, "name": name,
            "inbound_nodes": inbound}


def _write_layer(group, layer_name, weights):
    """One tf.keras layer group: `weight_names` like `dense/kernel:0` and datasets there."""
    sub = group.create_group(layer_name)
    names = [f"{layer_name}/{w}:0" for w, _ in weights]
    sub.attrs["weight_names"] = _names(names) if names else np.zeros((0,), np.float64)
    for name, (_, value) in zip(names, weights):
        sub.create_dataset(name, data=value)


def _write_model_weights(group, layers, top_level=True):
    group.attrs["layer_names"] = _names([name for name, _ in layers])
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.15.0"
    for name, weights in sorted(layers):
        _write_layer(group, name, weights)
    if top_level:
        group.create_group("top_level_model_weights").attrs["weight_names"] = np.zeros((0,))


def _functional_weights(rng):
    f32 = np.float32
    return [
        ("input_1", []),
        ("dense", [("kernel", rng.normal(size=(4, 3)).astype(f32)),
                   ("bias", rng.normal(size=(3,)).astype(f32))]),
        ("batch_normalization", [("gamma", rng.uniform(0.5, 1.5, 3).astype(f32)),
                                 ("beta", rng.normal(size=(3,)).astype(f32)),
                                 ("moving_mean", rng.normal(size=(3,)).astype(f32)),
                                 ("moving_variance", rng.uniform(0.5, 2.0, 3).astype(f32))]),
        ("dense_1", [("kernel", rng.normal(size=(3, 2)).astype(f32)),
                     ("bias", rng.normal(size=(2,)).astype(f32))]),
    ]


def keras2_functional(path):
    rng = np.random.default_rng(0)
    config = {"class_name": "Functional", "config": {
        "name": "model", "trainable": True,
        "layers": [_input("input_1", 4),
                   _dense("dense", 3, "relu", [[["input_1", 0, 0, {}]]]),
                   _batch_norm("batch_normalization", [[["dense", 0, 0, {}]]]),
                   _dense("dense_1", 2, "linear", [[["batch_normalization", 0, 0, {}]]])],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}
    training = {
        "loss": "mean_squared_error",
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
            "name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
            "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
            "ema_overwrite_frequency": None, "jit_compile": True, "is_legacy_optimizer": False,
            "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": False}}}
    layers = _functional_weights(rng)
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = json.dumps(config).encode("utf-8")
        f.attrs["training_config"] = json.dumps(training).encode("utf-8")
        _write_model_weights(f.create_group("model_weights"), layers)
        trainable = [(f"{layer}/{w}", v) for layer, ws in layers for w, v in ws
                     if w in ("kernel", "bias", "gamma", "beta")]
        names = ["Adam/iter:0"] + [f"Adam/{p}/m:0" for p, _ in trainable] \
            + [f"Adam/{p}/v:0" for p, _ in trainable]
        values = [np.array(7, np.int64)] \
            + [rng.normal(size=v.shape).astype(np.float32) * 0.01 for _, v in trainable] \
            + [rng.uniform(0, 0.01, v.shape).astype(np.float32) for _, v in trainable]
        group = f.create_group("optimizer_weights")
        group.attrs["weight_names"] = _names(names)
        for name, value in zip(names, values):
            group.create_dataset(name, data=value)


def keras2_shared(path):
    rng = np.random.default_rng(1)
    config = {"class_name": "Model", "config": {
        "name": "siamese",
        "layers": [_input("left", 4), _input("right", 4),
                   _dense("shared", 3, "tanh", [[["left", 0, 0, {}]], [["right", 0, 0, {}]]]),
                   {"class_name": "Add", "config": {"name": "add", "trainable": True,
                                                    "dtype": "float32"},
                    "name": "add", "inbound_nodes": [[["shared", 0, 0, {}], ["shared", 1, 0, {}]]]},
                   _dense("head", 1, "sigmoid", [[["add", 0, 0, {}]]])],
        "input_layers": [["left", 0, 0], ["right", 0, 0]],
        "output_layers": [["head", 0, 0]]}}
    training = {
        "loss": {"class_name": "MeanSquaredError",
                 "config": {"reduction": "auto", "name": "mean_squared_error"}},
        "metrics": None, "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Custom>SGD", "config": {
            "name": "SGD", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
            "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
            "ema_overwrite_frequency": None, "jit_compile": False, "is_legacy_optimizer": False,
            "learning_rate": 0.05, "momentum": 0.9, "nesterov": False}}}
    f32 = np.float32
    layers = [("left", []), ("right", []),
              ("shared", [("kernel", rng.normal(size=(4, 3)).astype(f32)),
                          ("bias", rng.normal(size=(3,)).astype(f32))]),
              ("add", []),
              ("head", [("kernel", rng.normal(size=(3, 1)).astype(f32)),
                        ("bias", rng.normal(size=(1,)).astype(f32))])]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["model_config"] = json.dumps(config).encode("utf-8")
        f.attrs["training_config"] = json.dumps(training).encode("utf-8")
        _write_model_weights(f.create_group("model_weights"), layers, top_level=False)
        trainable = [(f"{layer}/{w}", v) for layer, ws in layers for w, v in ws]
        names = ["SGD/iteration:0"] + [f"SGD/m/{p}:0" for p, _ in trainable]
        values = [np.array(3, np.int64)] + [rng.normal(size=v.shape).astype(f32) * 0.1
                                            for _, v in trainable]
        group = f.create_group("optimizer_weights")
        group.attrs["weight_names"] = _names(names)
        for name, value in zip(names, values):
            group.create_dataset(name, data=value)


def keras2_sequential(path):
    rng = np.random.default_rng(2)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        _input("dense_input", 6, functional=False),
        _dense("dense", 5, "relu", batch_input_shape=[None, 6]),
        {"class_name": "Dropout", "config": {"name": "dropout", "trainable": True,
                                             "dtype": "float32", "rate": 0.5,
                                             "noise_shape": None, "seed": None}},
        _dense("dense_1", 2, "softmax")]}}
    f32 = np.float32
    layers = [("dense", [("kernel", rng.normal(size=(6, 5)).astype(f32)),
                         ("bias", rng.normal(size=(5,)).astype(f32))]),
              ("dropout", []),
              ("dense_1", [("kernel", rng.normal(size=(5, 2)).astype(f32)),
                           ("bias", rng.normal(size=(2,)).astype(f32))])]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.4.0"
        f.attrs["model_config"] = json.dumps(config)  # str, as h5py writes from newer tf.keras
        group = f.create_group("model_weights")
        _write_model_weights(group, layers)
        group.attrs["keras_version"] = b"2.4.0"


def keras2_weights(path):
    rng = np.random.default_rng(3)
    layers = _functional_weights(rng)
    renamed = {"input_1": "input_7", "dense": "dense_12", "batch_normalization":
               "batch_normalization_3", "dense_1": "dense_13"}
    layers = [(renamed[n], ws) for n, ws in layers]
    with h5py.File(path, "w") as f:
        _write_model_weights(f, layers)


def keras3_functional(path, expected):
    import keras

    keras.utils.set_random_seed(4)
    inp = keras.Input((4,), name="inp")
    x = keras.layers.Dense(3, activation="relu", name="d1")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    out = keras.layers.Dense(2, name="d2")(x)
    model = keras.Model(inp, out, name="small")
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(8, 4)).astype(np.float32)
    model.fit(xs, rng.normal(size=(8, 2)).astype(np.float32), epochs=2, batch_size=4, verbose=0)
    model.save(path)
    expected["keras3_functional_x"] = xs
    expected["keras3_functional_y"] = np.asarray(model.predict(xs, verbose=0))


def kiln_functional(path, expected):
    import torch

    import kiln

    inp = kiln.Input((4,), name="inp")
    shared = kiln.layers.Dense(4, activation="tanh", name="shared")
    x = shared(shared(inp))
    x = kiln.layers.BatchNormalization(name="bn")(x)
    out = kiln.layers.Dense(2, name="out")(x)
    model = kiln.Model(inp, out, name="kiln_model")
    rng = np.random.default_rng(5)
    for v in model.weights:
        v.assign(rng.uniform(0.5, 1.5, v.shape).astype(np.float32))
    model.compile(optimizer=kiln.optimizers.Adam(0.01), loss="mean_squared_error",
                  metrics=["mae"])
    xs = rng.normal(size=(6, 4)).astype(np.float32)
    ys = rng.normal(size=(6, 2)).astype(np.float32)
    for _ in range(2):
        model.train_on_batch(xs, ys)
    model.save(path)
    with torch.no_grad():
        expected["kiln_functional_x"] = xs
        expected["kiln_functional_y"] = np.asarray(model(xs))


def main():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras2_functional(os.path.join(HERE, "keras2_functional.h5"))
    keras2_shared(os.path.join(HERE, "keras2_shared.h5"))
    keras2_sequential(os.path.join(HERE, "keras2_sequential.h5"))
    keras2_weights(os.path.join(HERE, "keras2_weights.h5"))
    expected = {}
    keras3_functional(os.path.join(HERE, "keras3_functional.h5"), expected)
    kiln_functional(os.path.join(HERE, "kiln_functional.h5"), expected)
    np.savez(os.path.join(HERE, "expected.npz"), **expected)
    for name in sorted(os.listdir(HERE)):
        print(f"{name:<24} {os.path.getsize(os.path.join(HERE, name)):>7} bytes")


if __name__ == "__main__":
    main()
