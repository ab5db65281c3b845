"""Twin kiln/Keras models with identical weights, for oracle comparisons of training."""

import numpy as np


def mlp(lib, num_classes=3, dropout=None, regularizer=None, name="mlp"):
    inputs = lib.Input((6,), name="x")
    h = lib.layers.Dense(8, activation="relu", name="hidden",
                         kernel_regularizer=regularizer)(inputs)
    if dropout:
        h = lib.layers.Dropout(dropout, name="drop")(h)
    outputs = lib.layers.Dense(num_classes, name="logits")(h)
    return lib.Model(inputs, outputs, name=name)


def two_heads(lib):
    a = lib.Input((4,), name="a")
    b = lib.Input((3,), name="b")
    h = lib.layers.Concatenate(name="concat")([a, b])
    h = lib.layers.Dense(6, activation="tanh", name="shared")(h)
    reg = lib.layers.Dense(1, name="reg")(h)
    cls = lib.layers.Dense(3, name="cls")(h)
    return lib.Model({"a": a, "b": b}, [reg, cls], name="two_heads")


def twins(builder, seed=0, **kwargs):
    import keras

    import kiln

    kiln.utils.set_random_seed(seed)
    ours = builder(kiln, **kwargs)
    theirs = builder(keras, **kwargs)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def classification_data(n=24, seed=0, num_classes=3):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 6).astype("float32")
    y = rng.randint(0, num_classes, n)
    return x, y


def two_heads_data(n=20, seed=0):
    rng = np.random.RandomState(seed)
    x = {"a": rng.randn(n, 4).astype("float32"), "b": rng.randn(n, 3).astype("float32")}
    return x, {"reg": rng.randn(n, 1).astype("float32"), "cls": rng.randint(0, 3, n)}
