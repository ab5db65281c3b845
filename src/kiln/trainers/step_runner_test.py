import numpy as np
import torch

import kiln


class Probe(kiln.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs, training=None):
        self.seen.append(training)
        return inputs


class NoTrainingArg(kiln.Model):
    def __init__(self):
        super().__init__()
        self.dense = kiln.layers.Dense(2)
        self.probe = Probe()

    def call(self, inputs):
        return self.probe(self.dense(inputs))


def test_training_flag_reaches_layers_of_models_without_a_training_argument():
    model = NoTrainingArg()
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    model.fit(x, y, batch_size=4, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert model.probe.seen[-3:] == [True, False, False]


def test_custom_train_step_logs_are_used():
    class Custom(kiln.Model):
        def __init__(self):
            super().__init__()
            self.dense = kiln.layers.Dense(1)
            self.tracker = kiln.metrics.Mean(name="custom_loss")

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            x, y = data
            loss = torch.mean((self(x, training=True) - y) ** 2)
            loss.backward()
            variables = self.trainable_variables
            self.optimizer.apply([v.value.grad for v in variables], variables)
            for v in variables:
                v.value.grad = None
            self.tracker.update_state(loss.detach())
            return {"custom_loss": self.tracker.result()}

    model = Custom()
    model.compile(optimizer=kiln.optimizers.SGD(0.1))
    x = np.random.RandomState(0).rand(16, 3).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert list(history.history) == ["custom_loss"]
    assert history.history["custom_loss"][-1] < history.history["custom_loss"][0]
    assert "custom_loss" in model.metrics_names


def test_keras_guide_custom_train_step_with_compute_loss():
    class CustomModel(kiln.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    kiln.utils.set_random_seed(0)
    inputs = kiln.Input(shape=(8,))
    model = CustomModel(inputs, kiln.layers.Dense(1)(inputs))
    model.compile(optimizer=kiln.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    rng = np.random.RandomState(0)
    x, y = rng.random_sample((64, 8)), rng.random_sample((64, 1))
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert list(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(results) == ["loss", "mae"]
