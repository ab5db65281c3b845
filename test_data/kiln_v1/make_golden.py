"""Writes the golden files of kiln's format version 1 into this folder.

    cd /work/main && .venv/bin/python test_data/kiln_v1/make_golden.py

Every later kiln version MUST still read these files (docs/formats/keras-archive.md,
"Golden files"); `integration_tests/format_golden_test.py` checks it. Regenerate them only
together with a format version bump, into a new `test_data/kiln_v<N>/` folder, and keep
this one.

One small functional model (Dense-relu, BatchNormalization, Dense; two Dense layers so the
`dense`/`dense_1` path counters are exercised; explicit layer names, because safetensors
keys are `state_dict()` names, which follow layer names), compiled with Adam and trained
two steps of batch 8, saved as:
- model.keras            `.keras` archive; metadata.json carries format_version 1 and the
                         checksums (SHA-256 for config.json, CRC-32 for model.weights.h5).
- model_sha256.keras     the same with `weights_checksum="sha256"`.
- model.weights.h5       `save_weights`, Keras 3 layout, with the Adam state.
- sharded/model.weights.json + sharded/model_0000N.weights.h5
                         `save_weights(..., max_shard_size=...)` with a 256-byte limit, so
                         the variables spread over several shards.
- model.safetensors      `save_weights` to safetensors (keys are `state_dict()` names).
- expected.npz           `x` (inputs), `y` (targets), `pred` (predictions after training),
                         `opt/<i>` (every optimizer variable, `optimizer.variables` order).
"""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARD_BYTES = 256


def build(K):
    """The golden architecture, built with library `K` (kiln, or Keras for comparison)."""
    inp = K.Input((4,), name="features")
    x = K.layers.Dense(6, activation="relu", name="hidden")(inp)
    x = K.layers.BatchNormalization(name="norm")(x)
    out = K.layers.Dense(3, name="head")(x)
    return K.Model(inp, out, name="golden_v1")


def compile_model(K, model):
    model.compile(optimizer=K.optimizers.Adam(learning_rate=0.01), loss="mse",
                  metrics=["mae"])
    return model


def data():
    rng = np.random.default_rng(11)
    return rng.random((16, 4), dtype="float32"), rng.random((16, 3), dtype="float32")


def main():
    import kiln
    from kiln.saving import keras_archive

    kiln.utils.set_random_seed(5)
    model = compile_model(kiln, build(kiln))
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    model.save(os.path.join(HERE, "model.keras"))
    keras_archive.save_model(model, os.path.join(HERE, "model_sha256.keras"),
                             weights_checksum="sha256")
    model.save_weights(os.path.join(HERE, "model.weights.h5"))
    os.makedirs(os.path.join(HERE, "sharded"), exist_ok=True)
    model.save_weights(os.path.join(HERE, "sharded", "model.weights.json"),
                       max_shard_size=SHARD_BYTES / 1024**3)
    model.save_weights(os.path.join(HERE, "model.safetensors"))

    expected = {"x": x, "y": y, "pred": np.asarray(model.predict(x, verbose=0))}
    for i, variable in enumerate(model.optimizer.variables):
        expected[f"opt/{i}"] = np.asarray(kiln.ops.convert_to_numpy(variable))
    np.savez(os.path.join(HERE, "expected.npz"), **expected)
    for root, _, files in sorted(os.walk(HERE)):
        for file in sorted(files):
            path = os.path.join(root, file)
            print(f"{os.path.getsize(path):>8}  {os.path.relpath(path, HERE)}")


if __name__ == "__main__":
    main()
