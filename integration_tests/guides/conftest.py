"""Fixtures for the guide tests: each example runs in a fresh folder and a fresh kiln session.

- `guide_session` (autouse): `chdir` into the test's `tmp_path`, so every file an example
  writes stays there; resets automatic layer names and the custom-object registry before
  and after the test, and seeds the random generators.
- `one_torch_thread` (autouse, per module): the examples run many tiny ops, which are
  several times faster on one intra-op thread than on a contended pool; the previous
  thread count is restored afterwards.
- `fake_mnist`: writes a small, learnable stand-in for `mnist.npz` into a temporary
  `$KILN_HOME/datasets/` and blocks network access, so `kiln.datasets.mnist.load_data()`
  finds it cached and can never download. kiln checks the cached file against the real
  file's SHA-256, so the fixture swaps in the stand-in's digest (as kiln's own
  `mnist_test.py` does).
"""

import hashlib
import socket

import numpy as np
import pytest
import torch

import kiln as keras

MNIST_TRAIN = 1000
MNIST_TEST = 200


def _reset_session():
    keras.utils.clear_session()
    keras.saving.get_custom_objects().clear()


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def guide_session(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _reset_session()
    keras.utils.set_random_seed(1337)
    yield tmp_path
    _reset_session()


def _blob_images(labels, rng):
    """28x28 uint8 images: one Gaussian blob per class on a ring, with jitter and noise."""
    angles = 2 * np.pi * np.arange(10) / 10
    centers = np.stack([14 + 9 * np.sin(angles), 14 + 9 * np.cos(angles)], axis=1)
    rows, cols = np.mgrid[0:28, 0:28]
    jitter = rng.uniform(-1.5, 1.5, size=(len(labels), 2))
    c = centers[labels] + jitter
    d2 = (rows[None] - c[:, 0, None, None]) ** 2 + (cols[None] - c[:, 1, None, None]) ** 2
    images = 255.0 * np.exp(-d2 / (2 * 2.5**2)) + rng.uniform(0, 60, size=(len(labels), 28, 28))
    return np.clip(images, 0, 255).astype(np.uint8)


def write_fake_mnist(path, n_train=MNIST_TRAIN, n_test=MNIST_TEST, seed=0):
    """Writes an `mnist.npz` with the real file's keys, dtypes and image shape."""
    rng = np.random.default_rng(seed)
    y_train = rng.integers(0, 10, size=n_train).astype(np.uint8)
    y_test = rng.integers(0, 10, size=n_test).astype(np.uint8)
    np.savez(path, x_train=_blob_images(y_train, rng), y_train=y_train,
             x_test=_blob_images(y_test, rng), y_test=y_test)


@pytest.fixture
def fake_mnist(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("kiln_home")
    (home / "datasets").mkdir()
    path = home / "datasets" / "mnist.npz"
    write_fake_mnist(path)
    monkeypatch.setenv("KILN_HOME", str(home))
    monkeypatch.setattr(keras.datasets.mnist, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())

    def no_network(*args, **kwargs):
        raise RuntimeError("guide tests must not use the network (mnist.npz should be cached)")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return home
