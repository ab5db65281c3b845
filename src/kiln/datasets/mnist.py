"""MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels."""

import numpy as np

from kiln.datasets import file_cache

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# The hash Keras publishes for this file (keras/src/datasets/mnist.py).
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Loads MNIST, downloading `mnist.npz` once into `$KILN_HOME/datasets`.

    Args:
        path: File name inside the cache folder (or an absolute path).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape `(n, 28, 28)` with
        values 0-255 and uint8 labels 0-9.

    Raises:
        DatasetDownloadError: offline and not cached; the message says where to put the
            file.
        DatasetHashError: the file's SHA-256 is not the published one.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = kiln.datasets.mnist.load_data()
        >>> x_train.shape
        (60000, 28, 28)
    """
    fpath = file_cache.get_file(path, ORIGIN, SHA256)
    with np.load(fpath, allow_pickle=False) as f:
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
    return (x_train, y_train), (x_test, y_test)
