import hashlib
import os

import numpy as np
import pytest

from kiln.datasets import file_cache, mnist


def _fake_npz(path):
    rng = np.random.RandomState(0)
    np.savez(path, x_train=rng.randint(0, 256, (6, 28, 28)).astype("uint8"),
             y_train=np.arange(6, dtype="uint8"),
             x_test=rng.randint(0, 256, (2, 28, 28)).astype("uint8"),
             y_test=np.arange(2, dtype="uint8"))
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KILN_HOME", str(tmp_path))

    def offline(url, destination):
        raise OSError("network is unreachable")

    monkeypatch.setattr(file_cache, "download", offline)
    return tmp_path


def test_published_hash_is_a_sha256_digest():
    assert len(mnist.SHA256) == 64 and int(mnist.SHA256, 16) >= 0
    assert mnist.ORIGIN.endswith("/mnist.npz")


def test_cached_file_loads_without_network(home, monkeypatch):
    os.makedirs(home / "datasets")
    digest = _fake_npz(home / "datasets" / "mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", digest)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (6, 28, 28) and x_train.dtype == np.uint8
    assert y_test.tolist() == [0, 1]


def test_offline_without_cache_names_the_path(home):
    with pytest.raises(file_cache.DatasetDownloadError) as info:
        mnist.load_data()
    message = str(info.value)
    assert str(home / "datasets" / "mnist.npz") in message
    assert mnist.ORIGIN in message and "KILN_HOME" in message
    assert not [p for p in os.listdir(home / "datasets") if p.startswith(".download")]


def test_wrong_hash_in_cache_and_offline(home):
    os.makedirs(home / "datasets")
    _fake_npz(home / "datasets" / "mnist.npz")
    with pytest.raises(file_cache.DatasetDownloadError, match="SHA-256"):
        mnist.load_data()


def test_download_with_wrong_hash_is_rejected(home, monkeypatch, tmp_path):
    source = tmp_path / "source.npz"
    _fake_npz(source)

    def fake_download(url, destination):
        with open(source, "rb") as f, open(destination, "wb") as out:
            out.write(f.read())

    monkeypatch.setattr(file_cache, "download", fake_download)
    with pytest.raises(file_cache.DatasetHashError, match=mnist.SHA256):
        mnist.load_data()
    assert not os.path.exists(home / "datasets" / "mnist.npz")


def test_download_once_then_cached(home, monkeypatch, tmp_path):
    source = tmp_path / "source.npz"
    digest = _fake_npz(source)
    calls = []

    def fake_download(url, destination):
        calls.append(url)
        with open(source, "rb") as f, open(destination, "wb") as out:
            out.write(f.read())

    monkeypatch.setattr(file_cache, "download", fake_download)
    monkeypatch.setattr(mnist, "SHA256", digest)
    mnist.load_data()
    mnist.load_data()
    assert calls == [mnist.ORIGIN]
