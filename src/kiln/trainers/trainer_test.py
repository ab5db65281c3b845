import numpy as np
import pytest

import kiln
from kiln.trainers import trainer


def _two_output_model(lib):
    a = lib.Input((4,), name="a")
    h = lib.layers.Dense(5, name="h")(a)
    reg = lib.layers.Dense(1, name="reg")(h)
    cls = lib.layers.Dense(3, name="cls")(h)
    return lib.Model(a, [reg, cls])


def _compile_args(lib):
    return dict(
        optimizer=lib.optimizers.Adam(learning_rate=0.01),
        loss={"reg": "mse", "cls": lib.losses.SparseCategoricalCrossentropy(from_logits=True)},
        loss_weights={"reg": 0.5, "cls": 2.0},
        metrics={"reg": [lib.metrics.MeanAbsoluteError()], "cls": ["accuracy"]},
        weighted_metrics=["mse"],
    )


def _strip_optimizer_envelope(config):
    # kiln writes the public `keras.optimizers` module (keras-format.md §10), Keras its
    # backend module; the optimizer's own config must be identical.
    config = dict(config)
    config["optimizer"] = {k: v for k, v in config["optimizer"].items()
                           if k not in ("module", "registered_name")}
    return config


def test_compile_config_matches_keras():
    keras = pytest.importorskip("keras")
    kiln.utils.clear_session()  # automatic names ("adam", "adam_1", ...) start again
    keras.utils.clear_session()
    ours = _two_output_model(kiln)
    ours.compile(**_compile_args(kiln))
    theirs = _two_output_model(keras)
    theirs.compile(**_compile_args(keras))
    assert _strip_optimizer_envelope(ours.get_compile_config()) == \
        _strip_optimizer_envelope(theirs.get_compile_config())
    ours.compile(optimizer="sgd", loss="mse", metrics=["mae"], jit_compile="auto")
    theirs.compile(optimizer="sgd", loss="mse", metrics=["mae"], jit_compile="auto")
    assert _strip_optimizer_envelope(ours.get_compile_config()) == \
        _strip_optimizer_envelope(theirs.get_compile_config())
    assert list(ours.get_compile_config()) == list(theirs.get_compile_config())


def test_compile_sets_model_state():
    model = _two_output_model(kiln)
    assert model.get_compile_config() == {}
    assert model.metrics == []
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, kiln.optimizers.Adam)
    assert model.loss == "mse" and model.compiled and model.stop_training is False
    assert model.jit_compile is False
    assert model.metrics_names == ["loss"]
    assert model.get_compile_config()["jit_compile"] is False


def test_compile_from_config_round_trip_builds_optimizer():
    model = _two_output_model(kiln)
    model.compile(**_compile_args(kiln))
    config = model.get_compile_config()
    clone = _two_output_model(kiln)
    clone.compile_from_config(config)
    assert clone.get_compile_config() == config
    assert clone.optimizer.built and len(clone.optimizer.variables) == 2 + 2 * 6
    assert isinstance(clone.loss["cls"], kiln.losses.SparseCategoricalCrossentropy)


def test_compile_from_config_defaults_to_rmsprop_and_skips_custom_compile():
    model = _two_output_model(kiln)
    model.compile_from_config({"loss": "mse"})
    assert isinstance(model.optimizer, kiln.optimizers.RMSprop)

    class Custom(kiln.Model):
        def compile(self, *args, **kwargs):
            raise AssertionError("must not be called")

    inputs = kiln.Input((2,))
    custom = Custom(inputs, kiln.layers.Dense(1)(inputs))
    with pytest.warns(UserWarning, match="compile\\(\\)` method is custom"):
        custom.compile_from_config({"loss": "mse"})


@pytest.mark.parametrize("kwargs, message", [
    (dict(optimizer="adamm"), "Unknown optimizer name 'adamm'. Known names:.*'adam'"),
    (dict(loss="msee"), "Unknown loss identifier: 'msee'. Known names:.*mse"),
    (dict(loss="mse", metrics=["acuracy"]), "Unknown metric identifier: 'acuracy'"),
    (dict(loss="mse", metrics="mae"), "Expected `metrics` argument to be a list"),
    (dict(loss="mse", loss_weights="big"), "Expected `loss_weights` argument"),
])
def test_unknown_names_fail_in_compile(kwargs, message):
    model = _two_output_model(kiln)
    with pytest.raises(ValueError, match=message):
        model.compile(**kwargs)


def test_methods_need_compile():
    model = _two_output_model(kiln)
    x = np.zeros((2, 4), "float32")
    for method, args in (("fit", (x, [x[:, :1], x[:, :1]])), ("evaluate", (x, x)),
                         ("train_on_batch", (x, x)), ("test_on_batch", (x, x))):
        with pytest.raises(ValueError, match=f"call `compile\\(\\)` before using `{method}"):
            getattr(model, method)(*args)
    assert [p.shape for p in model.predict(x, verbose=0)] == [(2, 1), (2, 3)]


def test_jit_compile_wraps_the_forward_with_torch_compile(monkeypatch):
    import torch

    calls = []

    def fake_compile(module, **kwargs):
        calls.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, verbose=0)
    model.predict(np.ones((4, 3)), verbose=0)
    assert calls == [model]
    assert model.get_compile_config()["jit_compile"] is True
    with pytest.warns(UserWarning, match="cannot also be True"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=True, run_eagerly=True)
    assert model.jit_compile is False
