"""Regenerates the object-graph checkpoint golden files (format version 1) in this folder.

    cd /work/main && KERAS_BACKEND=torch .venv/bin/python test_data/checkpoint_v1/make_golden.py

Files (a few KB):
- training/cp.ckpt.index, training/cp.ckpt.data-00000-of-00001, training/checkpoint
      `model.save_weights("training/cp.ckpt")` of `build()` below, compiled with Adam and
      trained two steps (weights, optimizer iteration and slots, Dropout seed state).
- objects/ckpt-1.*, objects/checkpoint
      `Checkpoint(dense=<Dense(3)>, bias=<a Variable>, step=7).save("objects/ckpt")`.
- expected.npz   the input and predictions of the trained model, and the saved values.

Every later kiln version must read these files (src/kiln/checkpoint/golden_test.py).
"""

import os
import shutil

import numpy as np

import kiln

HERE = os.path.dirname(os.path.abspath(__file__))


def build():
    return kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(5, activation="relu"),
                            kiln.layers.Dropout(0.2, seed=1), kiln.layers.Dense(2)])


def main():
    for name in ("training", "objects"):
        shutil.rmtree(os.path.join(HERE, name), ignore_errors=True)
    kiln.utils.set_random_seed(2024)
    model = build()
    model.compile(optimizer="adam", loss="mse")
    x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
    y = np.stack([x.sum(1), x[:, 0] - x[:, 3]], 1).astype("float32")
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    model.save_weights(os.path.join(HERE, "training", "cp.ckpt"))
    dense = kiln.layers.Dense(3, name="golden_dense")
    dense.build((None, 2))
    bias = kiln.Variable(np.array([0.5, -0.5], "float32"), name="golden_bias")
    kiln.checkpoint.Checkpoint(dense=dense, bias=bias, step=7).save(
        os.path.join(HERE, "objects", "ckpt"))
    np.savez(os.path.join(HERE, "expected.npz"), x=x, predictions=model.predict(x, verbose=0),
             iterations=int(model.optimizer.iterations.numpy()),
             dense_kernel=dense.kernel.numpy(), bias=bias.numpy(),
             **{f"slot_{i}": v.numpy() for i, v in enumerate(model.optimizer.variables)})


if __name__ == "__main__":
    main()
