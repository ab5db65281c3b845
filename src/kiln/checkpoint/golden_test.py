"""Checkpoints written by format version 1 (test_data/checkpoint_v1) still load."""

import os

import numpy as np

import kiln
from kiln.checkpoint import Checkpoint, latest_checkpoint

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test_data", "checkpoint_v1")


def _build():
    return kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(5, activation="relu"),
                            kiln.layers.Dropout(0.2, seed=1), kiln.layers.Dense(2)])


def test_training_checkpoint_v1():
    expected = np.load(os.path.join(GOLDEN, "expected.npz"))
    folder = os.path.join(GOLDEN, "training")
    prefix = latest_checkpoint(folder)
    assert prefix == os.path.join(folder, "cp.ckpt")
    model = _build()
    model.compile(optimizer="adam", loss="mse")
    status = model.load_weights(prefix)
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["predictions"],
                               rtol=1e-6, atol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == int(expected["iterations"])
    model.optimizer.build(model.trainable_variables)
    status.assert_consumed()
    for i, v in enumerate(model.optimizer.variables):
        np.testing.assert_array_equal(v.numpy(), expected[f"slot_{i}"])


def test_objects_checkpoint_v1():
    expected = np.load(os.path.join(GOLDEN, "expected.npz"))
    dense = kiln.layers.Dense(3)
    dense.build((None, 2))
    ckpt = Checkpoint(dense=dense, bias=kiln.Variable(np.zeros(2, "float32")), step=0)
    ckpt.restore(latest_checkpoint(os.path.join(GOLDEN, "objects"))).assert_consumed()
    np.testing.assert_array_equal(dense.kernel.numpy(), expected["dense_kernel"])
    np.testing.assert_array_equal(ckpt.bias.numpy(), expected["bias"])
    assert ckpt.step == 7 and int(ckpt.save_counter.numpy()) == 1
