"""Writes the golden files of one Keras 3 release into a version folder.

Run once per release, with that release first on the path (installed with
`pip install --no-deps --target /tmp/keras-X keras==X`; the other dependencies come from
kiln's virtualenv):

    cd /work/main
    PYTHONPATH=/tmp/keras-3.8.0 KERAS_BACKEND=torch .venv/bin/python \
        test_data/keras_versions/make_golden.py --out test_data/keras_versions/3.8.0/

For 3.15.1 (the oracle already installed in the virtualenv) leave out PYTHONPATH.

The zoo (tiny layer sizes, fixed seeds; each model compiled and trained two steps of batch 8):
- mlp.keras          Sequential Dense-relu-Dense, Adam, sparse categorical crossentropy,
                     metrics=["accuracy"].
- functional.keras   two inputs `a`, `b`; a Dense shared by both, BatchNormalization,
                     Concatenate, two outputs `out_a`, `out_b`; a dict of losses;
                     SGD(momentum=0.9).
- convnet.keras      Conv2D, MaxPooling2D, Flatten, Dense; RMSprop(centered=True).
- embedding.keras    Embedding, GlobalAveragePooling1D, Dense; Adagrad.
- attention.keras    MultiHeadAttention over a query and a value input, pooled, Dense; AdamW.
- mlp.weights.h5     `save_weights` of the trained MLP (with its optimizer state).
- expected.npz       for each model `<name>`: `<name>/x/<i>` and `<name>/y/<i>` (the inputs
                     and targets, identical for every release), `<name>/pred/<i>` (Keras's
                     predictions after training) and `<name>/opt/<i>` (every optimizer
                     variable, in `optimizer.variables` order); plus `keras_version`.

The builders take the library module as `K`, so tests can build the same architectures
with `kiln` (`import kiln as K`).
"""

import argparse
import os

import numpy as np


def _data(seed, x_specs, y_specs):
    """Inputs and targets from numpy's generator, so every release sees the same arrays."""
    rng = np.random.default_rng(seed)
    xs = [rng.integers(0, spec[1], (16, *spec[2])).astype("int32") if spec[0] == "int"
          else rng.random((16, *spec[1]), dtype="float32") for spec in x_specs]
    ys = [rng.integers(0, spec[1], (16,)).astype("int32") if spec[0] == "int"
          else rng.integers(0, 2, (16, 1)).astype("float32") if spec[0] == "binary"
          else rng.random((16, *spec[1]), dtype="float32") for spec in y_specs]
    return xs, ys


def mlp(K):
    model = K.Sequential([K.Input((5,)), K.layers.Dense(6, activation="relu"),
                          K.layers.Dense(3)], name="mlp")
    return model, K.optimizers.Adam(learning_rate=0.01), \
        K.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"], \
        _data(1, [("float", (5,))], [("int", 3)])


def functional(K):
    a = K.Input((4,), name="a")
    b = K.Input((4,), name="b")
    shared = K.layers.Dense(5, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    joined = K.layers.Concatenate(name="join")([K.layers.BatchNormalization(name="bn")(ha), hb])
    out_a = K.layers.Dense(2, name="out_a")(joined)
    out_b = K.layers.Dense(1, activation="sigmoid", name="out_b")(hb)
    model = K.Model([a, b], [out_a, out_b], name="two_tower")
    return model, K.optimizers.SGD(learning_rate=0.05, momentum=0.9), \
        {"out_a": "mse", "out_b": "binary_crossentropy"}, None, \
        _data(2, [("float", (4,)), ("float", (4,))], [("float", (2,)), ("binary",)])


def convnet(K):
    model = K.Sequential([K.Input((6, 6, 2)), K.layers.Conv2D(3, 3, padding="same",
                                                              activation="relu"),
                          K.layers.MaxPooling2D(), K.layers.Flatten(), K.layers.Dense(2)],
                         name="convnet")
    return model, K.optimizers.RMSprop(learning_rate=0.01, centered=True), "mse", None, \
        _data(3, [("float", (6, 6, 2))], [("float", (2,))])


def embedding(K):
    inp = K.Input((6,), dtype="int32", name="tokens")
    x = K.layers.Embedding(20, 4)(inp)
    x = K.layers.GlobalAveragePooling1D()(x)
    out = K.layers.Dense(1)(x)
    return K.Model(inp, out, name="embedder"), K.optimizers.Adagrad(learning_rate=0.1), \
        "mse", None, _data(4, [("int", 20, (6,))], [("float", (1,))])


def attention(K):
    q = K.Input((5, 4), name="query")
    v = K.Input((7, 4), name="value")
    x = K.layers.MultiHeadAttention(num_heads=2, key_dim=3)(q, v)
    x = K.layers.GlobalAveragePooling1D()(x)
    out = K.layers.Dense(1)(x)
    return K.Model([q, v], out, name="attender"), \
        K.optimizers.AdamW(learning_rate=0.01, weight_decay=0.01), "mse", None, \
        _data(5, [("float", (5, 4)), ("float", (7, 4))], [("float", (1,))])


ZOO = {"mlp": mlp, "functional": functional, "convnet": convnet, "embedding": embedding,
       "attention": attention}


OUTPUT_NAMES = {"functional": ["out_a", "out_b"]}


def fit_inputs(name, xs, ys):
    """Packs the arrays the way `fit` wants them (dict targets for named outputs)."""
    x = xs[0] if len(xs) == 1 else xs
    if len(ys) == 1:
        return x, ys[0]
    return x, dict(zip(OUTPUT_NAMES[name], ys))


def _to_numpy(K, value):
    return np.asarray(K.ops.convert_to_numpy(value))


def build_and_train(K, name, seed=7):
    """Builds zoo model `name` with library `K`, compiles it, trains two steps."""
    K.utils.set_random_seed(seed)
    model, optimizer, loss, metrics, (xs, ys) = ZOO[name](K)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    x, y = fit_inputs(name, xs, ys)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return model, xs, ys


def main():
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write, e.g. 3.8.0/")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    expected = {"keras_version": np.array(keras.__version__)}
    for name in ZOO:
        model, xs, ys = build_and_train(keras, name)
        x, _ = fit_inputs(name, xs, ys)
        preds = model.predict(x, verbose=0)
        preds = preds if isinstance(preds, (list, tuple)) else [preds]
        for kind, arrays in (("x", xs), ("y", ys), ("pred", preds)):
            for i, array in enumerate(arrays):
                expected[f"{name}/{kind}/{i}"] = _to_numpy(keras, array)
        for i, variable in enumerate(model.optimizer.variables):
            expected[f"{name}/opt/{i}"] = _to_numpy(keras, variable)
        model.save(os.path.join(out, f"{name}.keras"))
        if name == "mlp":
            model.save_weights(os.path.join(out, "mlp.weights.h5"))
    np.savez_compressed(os.path.join(out, "expected.npz"), **expected)
    for file in sorted(os.listdir(out)):
        print(f"{os.path.getsize(os.path.join(out, file)):>8}  {os.path.join(out, file)}")


if __name__ == "__main__":
    main()
