"""Files cross between kiln and real Keras 3 (torch backend) in both directions.

Every zoo model is built by the same code against `keras` and against `kiln` (the APIs
are the same), trained a step, saved by one library and loaded by the other. Predictions
and every optimizer variable must match, and the loading side must be able to keep
training.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import kiln  # noqa: E402

RNG = np.random.default_rng(0)


def _register_custom(K):
    @K.saving.register_keras_serializable(package="zoo")
    class ScaledResidual(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.proj = K.layers.Dense(units)

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")
            self.proj.build(input_shape)

        def call(self, x):
            return self.proj(x) * self.scale + x

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @K.saving.register_keras_serializable(package="zoo")
    class TwoTower(K.Model):
        def __init__(self, hidden=6, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.left = K.layers.Dense(hidden, activation="relu")
            self.towers = [K.layers.Dense(hidden), K.layers.Dense(hidden)]
            self.head = K.layers.Dense(1)

        def call(self, x):
            h = self.left(x)
            return self.head(self.towers[0](h) + self.towers[1](h))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}

    return ScaledResidual, TwoTower


CUSTOM = {"keras": _register_custom(keras), "kiln": _register_custom(kiln)}


@pytest.fixture(autouse=True)
def _registered_custom_objects():
    """Other tests may clear the registries; put this module's classes back each time."""
    for K, classes in ((keras, CUSTOM["keras"]), (kiln, CUSTOM["kiln"])):
        for cls in classes:
            K.saving.get_custom_objects()[f"zoo>{cls.__name__}"] = cls
    yield


def _lib(K):
    return "keras" if K is keras else "kiln"


# -- the zoo: each builder returns (model, x, y, loss) -------------------------------
def mlp(K):
    model = K.Sequential([K.Input((5,)), K.layers.Dense(8, activation="relu"),
                          K.layers.Dropout(0.2), K.layers.Dense(3)])
    return model, RNG.random((16, 5), dtype="float32"), RNG.integers(0, 3, 16), \
        K.losses.SparseCategoricalCrossentropy(from_logits=True)


def multi_io(K):
    a = K.Input((4,), name="a")
    b = K.Input((3,), name="b")
    shared = K.layers.Dense(5, name="shared")
    joined = K.layers.Concatenate(name="join")([shared(a), K.layers.Dense(5)(b)])
    out1 = K.layers.Dense(2, name="out1")(joined)
    out2 = K.layers.Dense(1, name="out2")(shared(a))
    model = K.Model([a, b], [out1, out2])
    x = [RNG.random((16, 4), dtype="float32"), RNG.random((16, 3), dtype="float32")]
    y = [RNG.random((16, 2), dtype="float32"), RNG.random((16, 1), dtype="float32")]
    return model, x, y, "mse"


def nested(K):
    inner = K.Sequential([K.layers.Dense(6, activation="tanh"), K.layers.Dense(4)],
                         name="inner")
    inp = K.Input((4,))
    x = K.layers.BatchNormalization()(inp)
    out = K.layers.Dense(2)(inner(x))
    return K.Model(inp, out), RNG.random((16, 4), dtype="float32"), \
        RNG.random((16, 2), dtype="float32"), "mse"


def embedding(K):
    inp = K.Input((6,), dtype="int32")
    x = K.layers.Embedding(20, 4)(inp)
    x = K.layers.GlobalAveragePooling1D()(x)
    out = K.layers.Dense(1)(x)
    return K.Model(inp, out), RNG.integers(0, 20, (16, 6)).astype("int32"), \
        RNG.random((16, 1), dtype="float32"), "mse"


def convnet(K):
    model = K.Sequential([K.Input((8, 8, 2)), K.layers.Conv2D(3, 3, padding="same"),
                          K.layers.BatchNormalization(), K.layers.MaxPooling2D(),
                          K.layers.Flatten(), K.layers.Dense(2)])
    return model, RNG.random((16, 8, 8, 2), dtype="float32"), \
        RNG.random((16, 2), dtype="float32"), "mse"


def attention(K):
    q = K.Input((5, 8))
    v = K.Input((7, 8))
    x = K.layers.MultiHeadAttention(num_heads=2, key_dim=4)(q, v)
    x = K.layers.LayerNormalization()(x)
    out = K.layers.Dense(1)(x)
    x_data = [RNG.random((16, 5, 8), dtype="float32"), RNG.random((16, 7, 8), dtype="float32")]
    return K.Model([q, v], out), x_data, RNG.random((16, 5, 1), dtype="float32"), "mse"


def custom_layer(K):
    ScaledResidual, _ = CUSTOM[_lib(K)]
    inp = K.Input((4,))
    out = K.layers.Dense(1)(ScaledResidual(4)(inp))
    return K.Model(inp, out), RNG.random((16, 4), dtype="float32"), \
        RNG.random((16, 1), dtype="float32"), "mse"


def subclassed(K):
    _, TwoTower = CUSTOM[_lib(K)]
    model = TwoTower()
    return model, RNG.random((16, 3), dtype="float32"), RNG.random((16, 1), dtype="float32"), \
        "mse"


OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 0.5}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("Lion", {"learning_rate": 0.001}),
]
ZOO = [mlp, multi_io, nested, embedding, convnet, attention, custom_layer, subclassed]
CASES = [(builder, OPTIMIZERS[i % len(OPTIMIZERS)]) for i, builder in enumerate(ZOO)] + [
    (mlp, opt) for opt in OPTIMIZERS[len(ZOO) % len(OPTIMIZERS):]]


def _ids(case):
    return f"{case[0].__name__}-{case[1][0]}"


def _train(K, builder, opt):
    K.utils.set_random_seed(1)
    model, x, y, loss = builder(K)
    name, kwargs = opt
    model.compile(optimizer=getattr(K.optimizers, name)(**kwargs), loss=loss)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    return model, x, y


def _np(value):
    if isinstance(value, (list, tuple)):
        return [_np(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return np.asarray(value)


def _assert_same(a, b, atol=1e-5):
    a, b = _np(a), _np(b)
    if isinstance(a, list):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, atol=atol, rtol=1e-5)
    else:
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)


def _optimizer_values(model):
    return [np.asarray(_np(v.value if hasattr(v, "value") else v)) for v in
            model.optimizer.variables]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_keras_file_loads_in_kiln(case, tmp_path):
    builder, opt = case
    model, x, y = _train(keras, builder, opt)
    path = str(tmp_path / "from_keras.keras")
    model.save(path)
    loaded = kiln.models.load_model(path)
    _assert_same(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    theirs, ours = _optimizer_values(model), _optimizer_values(loaded)
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(a, b, atol=1e-6)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_kiln_file_loads_in_keras(case, tmp_path):
    builder, opt = case
    model, x, y = _train(kiln, builder, opt)
    path = str(tmp_path / "from_kiln.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    _assert_same(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    ours, theirs = _optimizer_values(model), _optimizer_values(loaded)
    assert len(theirs) == len(ours)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-6)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)


@pytest.mark.parametrize("builder", [mlp, nested, convnet], ids=lambda b: b.__name__)
def test_weights_h5_cross_both_ways(builder, tmp_path):
    keras.utils.set_random_seed(2)
    k_model = builder(keras)[0]
    kiln_model, x, _, _ = builder(kiln)
    k_model.save_weights(str(tmp_path / "k.weights.h5"))
    kiln_model.load_weights(str(tmp_path / "k.weights.h5"))
    _assert_same(k_model.predict(x, verbose=0), kiln_model.predict(x, verbose=0))
    for layer in kiln_model.weights:
        layer.assign(np.asarray(layer.numpy()) * 0.5)
    kiln_model.save_weights(str(tmp_path / "kiln.weights.h5"))
    k_model.load_weights(str(tmp_path / "kiln.weights.h5"))
    _assert_same(k_model.predict(x, verbose=0), kiln_model.predict(x, verbose=0))
