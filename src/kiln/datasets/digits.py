"""scikit-learn's bundled 8x8 handwritten digits (1,797 images), no download needed."""

import numpy as np


def load_data(test_split=0.2, seed=113):
    """Loads the 8x8 digits as flat feature vectors, split into training and test sets.

    The data ships with scikit-learn (imported only here), so this works offline.

    Args:
        test_split: Fraction of the samples kept for the test set.
        seed: Seed of the shuffle before splitting (the split is reproducible).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float32 features of shape `(n, 64)` scaled
        to [0, 1], and int64 labels 0-9.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = kiln.datasets.digits.load_data()
        >>> x_train.shape, x_test.shape
        ((1437, 64), (360, 64))
    """
    if not 0.0 < test_split < 1.0:
        raise ValueError(f"`test_split` must be between 0 and 1. Received: {test_split}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            "kiln.datasets.digits needs scikit-learn, which bundles the data. Install it "
            "with `pip install scikit-learn` (or `pip install kiln[demo]`)."
        ) from e
    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])
