"""Writes the golden files of the torch export artifact, format version 1.

    cd /work/main && .venv/bin/python test_data/torch_artifact_v1/make_golden.py

Every later kiln version MUST still load these (docs/formats/torch-artifact.md);
`src/kiln/export/golden_test.py` checks it. Regenerate only together with a format
version bump, into a new `test_data/torch_artifact_v<N>/` folder, and keep this one.

- exported_model/  `model.export(...)` of a small functional model (Dense, BatchNorm, Dense)
                   with a dynamic batch: endpoint `serve`.
- archive/         an `ExportArchive` with two endpoints over a dict-input model (`serve`
                   and `embed`, the hidden layer's output) and a variable collection
                   `head_vars`.
- my_model/        `model.save("my_model")` of the first model, compiled with Adam and
                   trained two steps: a model directory with its `exported/` artifact.
- expected.npz     `x`, `serve` (outputs of exported_model), `a`, `b`, `archive_serve`,
                   `archive_embed`, `head_vars/<i>`, `y` (targets for my_model).
"""

import os
import shutil

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    import kiln

    kiln.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    inp = kiln.Input((4,), name="features")
    hidden = kiln.layers.Dense(6, activation="relu", name="hidden")(inp)
    norm = kiln.layers.BatchNormalization(name="norm")(hidden)
    model = kiln.Model(inp, kiln.layers.Dense(3, name="head")(norm), name="golden_export")
    model.compile(optimizer="adam", loss="mse")
    x = rng.random((8, 4)).astype("float32")
    y = rng.random((8, 3)).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)

    a = kiln.Input((2,), name="a")
    b = kiln.Input((3,), name="b")
    joined = kiln.layers.Concatenate(name="join")([a, b])
    embed = kiln.layers.Dense(4, activation="tanh", name="embed")
    head = kiln.layers.Dense(1, name="score")
    two = kiln.Model({"a": a, "b": b}, head(embed(joined)), name="golden_two")
    xa = rng.random((5, 2)).astype("float32")
    xb = rng.random((5, 3)).astype("float32")

    for name in ("exported_model", "archive", "my_model"):
        shutil.rmtree(os.path.join(HERE, name), ignore_errors=True)
    model.export(os.path.join(HERE, "exported_model"), verbose=False)
    model.save(os.path.join(HERE, "my_model"))
    archive = kiln.export.ExportArchive()
    archive.track(two)
    archive.add_endpoint("serve", two)
    archive.add_endpoint("embed", lambda features: embed(kiln.ops.concatenate(
        [features["a"], features["b"]], axis=-1)), input_signature=[{
            "a": kiln.InputSpec(shape=(None, 2)), "b": kiln.InputSpec(shape=(None, 3))}])
    archive.add_variable_collection("head_vars", head.weights)
    archive.write_out(os.path.join(HERE, "archive"), verbose=False)

    feed = {"a": xa, "b": xb}
    arrays = {"x": x, "y": y, "serve": np.asarray(model(x)), "a": xa, "b": xb,
              "archive_serve": np.asarray(two(feed)),
              "archive_embed": np.asarray(embed(np.concatenate([xa, xb], axis=-1)))}
    for i, v in enumerate(head.weights):
        arrays[f"head_vars/{i}"] = v.numpy()
    np.savez(os.path.join(HERE, "expected.npz"), **arrays)


if __name__ == "__main__":
    main()
