"""kiln's main job, end to end: build, train on bundled data, save, reload in a fresh
process, verify the predictions match, and export an inference artifact."""

import os
import subprocess
import sys
import tempfile

import numpy as np

import kiln as keras


def build_model(num_features, num_classes):
    inputs = keras.Input(shape=(num_features,), name="pixels")
    x = keras.layers.Dense(64, activation="relu", name="hidden")(inputs)
    x = keras.layers.Dropout(0.1, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="digits_mlp")


def main():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    model = build_model(x_train.shape[1], 10)
    model.summary()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=32, validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.3f}")

    out = tempfile.mkdtemp(prefix="kiln-demo-")
    path = os.path.join(out, "digits.keras")
    model.save(path)
    expected = model.predict(x_test, verbose=0)
    np.save(os.path.join(out, "expected.npy"), expected)
    np.save(os.path.join(out, "x_test.npy"), x_test)
    print(f"saved {path} ({os.path.getsize(path):,} bytes)")

    # Reload in a fresh interpreter: nothing shared with this process but the file.
    check = (
        "import sys, numpy as np, kiln\n"
        "m = kiln.models.load_model(sys.argv[1])\n"
        "x = np.load(sys.argv[2]); want = np.load(sys.argv[3])\n"
        "got = m.predict(x, verbose=0)\n"
        "np.testing.assert_allclose(got, want, atol=1e-6)\n"
        "print('reloaded in a fresh process: predictions match')\n"
    )
    subprocess.run([sys.executable, "-c", check, path, os.path.join(out, "x_test.npy"),
                    os.path.join(out, "expected.npy")], check=True)

    reloaded = keras.models.load_model(path)
    reloaded.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    print("training resumed from the reloaded model")

    if hasattr(keras.export, "load"):
        artifact_dir = os.path.join(out, "digits_artifact")
        model.export(artifact_dir)
        artifact = keras.export.load(artifact_dir)
        served = np.asarray(artifact.serve(x_test[:8]))
        np.testing.assert_allclose(served, expected[:8], atol=1e-5)
        print(f"exported to {artifact_dir}; served a batch of 8 from the reloaded artifact")
    print("demo finished OK")


if __name__ == "__main__":
    main()
