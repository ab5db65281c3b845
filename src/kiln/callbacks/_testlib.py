"""Small models, data and fakes shared by the callback tests."""

import numpy as np

import kiln


def regression_model(units=1, optimizer="sgd", **compile_kwargs):
    kiln.utils.set_random_seed(0)
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(units)])
    model.compile(optimizer=optimizer, loss="mse", **compile_kwargs)
    return model


def regression_data(n=16, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.rand(n, 3).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")).astype("float32")
    return x, y


class FakeModel:
    """Stands in for a model when a callback is fed hand-made logs."""

    def __init__(self, optimizer=None):
        self.stop_training = False
        self.optimizer = optimizer
        self.metrics = []
        self.saved = []
        self._weights = [np.zeros(1)]

    def get_weights(self):
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        self._weights = [np.asarray(w) for w in weights]

    def save(self, filepath, overwrite=True):
        self.saved.append(("save", filepath))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("save_weights", filepath))
